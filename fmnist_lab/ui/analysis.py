"""Shared parts of the analysis pages: cached run artefacts, the run guard, image galleries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from .. import forward, metrics
from ..runs import Run, RunNotFound, RunStore
from .common import RUN_PARAM

T = TypeVar("T")
ANALYSABLE = ("finished", "stopped")
DISPLAY_SCALE = 4  # 28 px images drawn at 112 px, pixels kept sharp


@st.cache_data(max_entries=32, show_spinner=False)
def _predictions(run_id: str, root: str, stamp: int) -> tuple[np.ndarray, np.ndarray]:
    return RunStore(root).predictions(run_id)


def run_predictions(runs: RunStore, run_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Test-set softmax outputs ``(n, 10)`` and labels ``(n,)``, cached until the file changes."""
    return _predictions(run_id, str(runs.root), _stamp(runs, run_id))


@st.cache_data(max_entries=32, show_spinner=False)
def _confusion(run_id: str, root: str, stamp: int) -> tuple[np.ndarray, pd.DataFrame]:
    probabilities, labels = _predictions(run_id, root, stamp)
    cm = metrics.confusion_matrix(labels, metrics.predicted(probabilities))
    return cm, metrics.per_class_report(cm)


def run_confusion(runs: RunStore, run_id: str) -> tuple[np.ndarray, pd.DataFrame]:
    """The run's test-set confusion matrix and per-class report, cached."""
    return _confusion(run_id, str(runs.root), _stamp(runs, run_id))


def _stamp(runs: RunStore, run_id: str, name: str = "predictions.npz") -> int:
    """Keys the caches: a rewritten file is read afresh (-1: no such file)."""
    try:
        return (runs.path(run_id) / name).stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def analysable_runs(runs: RunStore) -> list[Run]:
    return [run for run in runs.list() if run.state in ANALYSABLE and run.metrics]


def run_or_stop(runs: RunStore, current: str | None) -> Run:
    """The current run if it has test-set predictions; otherwise say what to do and stop the page."""
    if current is None:
        st.info("No run chosen yet. Pick one in the sidebar, or train one on the Train page.")
        st.page_link("pages/1_Train.py", label="Go to Train", icon=":material/model_training:")
        st.stop()
    run = runs.load(current)
    if run.state not in ANALYSABLE or not run.metrics:
        st.info(f"Run **{run.name}** is {run.state}; its analysis appears once it has finished.")
        st.page_link("pages/1_Train.py", label="Watch it on Train", query_params={RUN_PARAM: run.id})
        st.stop()
    try:
        run_predictions(runs, run.id)
    except (RunNotFound, FileNotFoundError) as exc:
        st.error(f"This run's stored predictions cannot be read: {exc}")
        st.stop()
    return run


def or_stop(read: Callable[[], T], whose: str) -> T:
    """What ``read`` returns; if a run's file is missing or damaged, say so and end the page."""
    try:
        return read()
    except RunNotFound as exc:
        st.error(f"**{whose}:** {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script


def enlarge(image: np.ndarray, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """Nearest-neighbour upscaling, so each pixel stays a crisp square."""
    return np.kron(np.asarray(image, dtype=np.uint8), np.ones((scale, scale), dtype=np.uint8))


def gallery(images: np.ndarray, captions: Sequence[str], columns: int = 6) -> None:
    """Images in a grid with a caption under each."""
    for start in range(0, len(images), columns):
        for col, image, caption in zip(
            st.columns(columns), images[start : start + columns], captions[start:], strict=False
        ):
            col.image(enlarge(image), caption=caption, clamp=True)


def top_caption(index: int, probabilities: np.ndarray, k: int = 3) -> str:
    """``#1234 · Shirt 61% · T-shirt/top 30% · Pullover 5%``."""
    from ..data import CLASS_NAMES

    best = metrics.top_k(probabilities, k)
    return f"#{index} · " + " · ".join(f"{CLASS_NAMES[c]} {p:.0%}" for c, p in best)


@st.cache_data(max_entries=8, show_spinner=False)
def _weights(run_id: str, root: str, stamp: int) -> list[np.ndarray]:
    return RunStore(root).weights(run_id)


def predict_one(runs: RunStore, run: Run, image: np.ndarray) -> np.ndarray:
    """The run's softmax output (10,) for one 28×28 uint8 image, scaled as in training.

    Computed in NumPy from the stored weights (``fmnist_lab.forward``): TensorFlow stays out
    of the server. Raises ``RunNotFound`` if the run has no weights file.
    """
    from ..data import prepare

    stamp = _stamp(runs, run.id, "weights.npz")
    weights = _weights(run.id, str(runs.root), stamp)
    return forward.predict(weights, run.config.activation, prepare(image[None], run.config.normalize))[0]
