"""Shared parts of the analysis pages: cached run artefacts, the epoch slider, the run guard, image galleries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from fmnist_lab.analysis import forward, metrics
from fmnist_lab.charts.confusion import clicked_cell
from fmnist_lab.store.runs import Run, RunNotFound, RunStore, RunStoreError
from fmnist_lab.ui.common import RUN_PARAM, plain
from fmnist_lab.ui.navigation import TRAIN

NO_ANALYSIS = {  # why a run has nothing to analyse, and what next
    "queued": "is waiting in the queue; its analysis appears once it has finished.",
    "running": "is running; its analysis appears once it has finished.",
    "stopped": "ended before it had results (it left the queue, or was stopped before its first epoch). "
    "Pick a finished run in the sidebar, or train a new one.",
    "failed": "failed, so there is nothing to analyse. Its Train page says why; pick another run or train again.",
}

T = TypeVar("T")
ANALYSABLE = ("finished", "stopped")
DISPLAY_SCALE = 4  # 28 px images drawn at 112 px, pixels kept sharp


@st.cache_data(max_entries=64, show_spinner=False)
def _predictions(run_id: str, root: str, epoch: int | None, stamp: int) -> tuple[np.ndarray, np.ndarray]:
    store = RunStore(root)
    probabilities, labels = store.predictions(run_id)
    if epoch is None:
        return probabilities, labels
    replayed = store.epoch_snapshot(run_id, epoch).probabilities
    if replayed.shape != probabilities.shape:
        raise RunNotFound(
            f"Run {run_id}: its snapshot of epoch {epoch} covers {len(replayed)} test images, not {len(labels)}."
        )
    return replayed, labels


def run_predictions(runs: RunStore, run_id: str, epoch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Test-set softmax outputs ``(n, 10)`` and labels ``(n,)`` after ``epoch`` (None: the end),
    cached until the file changes."""
    return _predictions(run_id, str(runs.root), epoch, file_stamp(runs, run_id, _file(epoch)))


@st.cache_data(max_entries=64, show_spinner=False)
def _confusion(run_id: str, root: str, epoch: int | None, stamp: int) -> tuple[np.ndarray, pd.DataFrame]:
    probabilities, labels = _predictions(run_id, root, epoch, stamp)
    cm = metrics.confusion_matrix(labels, metrics.predicted(probabilities))
    return cm, metrics.per_class_report(cm)


def run_confusion(runs: RunStore, run_id: str, epoch: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """The run's test-set confusion matrix and per-class report after ``epoch`` (None: the end), cached."""
    return _confusion(run_id, str(runs.root), epoch, file_stamp(runs, run_id, _file(epoch)))


PLAY_SECONDS = 1.0  # the player shows each epoch this long
PLAY_HELP = "Step through the epochs, one a second, and stop at the last."


def epoch_ui(runs: RunStore, run: Run, prefix: str) -> int | None:
    """A slider over the run's kept epochs; the chosen epoch, or None for the end (the default).

    Runs trained before snapshots existed, or with a single epoch, get no slider.
    """
    return _epoch_slider(runs, [run], runs.snapshot_epochs(run.id), f"{prefix}_epoch_{run.id}")


def common_epoch_ui(runs: RunStore, chosen: Sequence[Run], prefix: str) -> int | None:
    """``epoch_ui`` for several runs at once: the epochs every one of them kept."""
    kept = [set(runs.snapshot_epochs(run.id)) for run in chosen]
    common = sorted(set.intersection(*kept)) if kept else []
    return _epoch_slider(runs, chosen, common, f"{prefix}_epoch_{'-'.join(run.id for run in chosen)}")


def _epoch_slider(runs: RunStore, chosen: Sequence[Run], epochs: list[int], key: str) -> int | None:
    if len(epochs) < 2:
        return None
    if (step := st.session_state.pop(f"{key}_next", None)) in epochs:  # the player's step, before the widgets
        st.session_state[key] = step
        st.session_state[f"{key}_play"] = step != epochs[-1]  # stops at the end
    slider, play = st.columns([5, 1], vertical_alignment="bottom")
    playing = play.toggle(
        "Play", key=f"{key}_play", on_change=_from_the_start, args=(key, epochs), help=PLAY_HELP, width="content"
    )
    picked = slider.select_slider(
        "After epoch",
        epochs,
        value=epochs[-1],
        key=key,
        help="Replay this page as it was after each epoch of training; the last is the finished run.",
    )
    if playing:
        _player(key, epochs)
    if picked == epochs[-1] and all(runs.snapshot_epochs(run.id)[-1] == picked for run in chosen):
        return None
    try:
        for run in chosen:
            run_predictions(runs, run.id, int(picked))
    except RunNotFound as exc:
        st.warning(f"{exc} Showing the finished runs instead.")
        return None
    return int(picked)


def _from_the_start(key: str, epochs: list[int]) -> None:
    """Play pressed at the last epoch: begin again from the first."""
    if st.session_state.get(f"{key}_play") and st.session_state.get(key, epochs[-1]) == epochs[-1]:
        st.session_state[key] = epochs[0]


@st.fragment(run_every=PLAY_SECONDS)
def _player(key: str, epochs: list[int]) -> None:
    """Every ``PLAY_SECONDS``, ask for the next epoch and redraw the page (its first call, part of
    a whole-page run, only starts the clock). The step is applied before the widgets are drawn."""
    now = time.monotonic()
    if now - st.session_state.setdefault(f"{key}_ticked", now) < PLAY_SECONDS * 0.8:
        return
    st.session_state[f"{key}_ticked"] = now
    later = [epoch for epoch in epochs if epoch > st.session_state.get(key, epochs[-1])]
    st.session_state[f"{key}_next"] = later[0] if later else epochs[-1]
    st.rerun(scope="app")


def epoch_note(epoch: int | None) -> str:
    return "after the last epoch" if epoch is None else f"after epoch {epoch} (replayed)"


def _file(epoch: int | None) -> str:
    return "predictions.npz" if epoch is None else f"epochs/{epoch}.npz"


def file_stamp(runs: RunStore, run_id: str, name: str = "predictions.npz") -> int:
    """Keys the caches: a rewritten file is read afresh (-1: no such file)."""
    try:
        return (runs.path(run_id) / name).stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def analysable_runs(runs: RunStore) -> list[Run]:
    return [run for run in runs.list() if run.state in ANALYSABLE and run.metrics]


def readable(runs: RunStore, run: Run) -> bool:
    """Whether ``run``'s history and test predictions load: a damaged run is not offered by default."""
    try:
        runs.history(run.id)
        runs.predictions(run.id)
    except RunStoreError:
        return False
    return True


def run_or_stop(runs: RunStore, current: str | None) -> Run:
    """The current run if it has test-set predictions; otherwise say what to do and stop the page."""
    run = run_or_note(runs, current)
    if run is None:
        st.stop()
    return run


def run_or_note(runs: RunStore, current: str | None) -> Run | None:
    """The current run if it has test-set predictions; otherwise say what to do and return None."""
    if current is None:
        st.info("No run chosen yet. Pick one in the sidebar, or train one on the Train page.")
        st.page_link(TRAIN.path, label="Go to Train", icon=":material/model_training:")
        return None
    run = runs.load(current)
    if run.state not in ANALYSABLE or not run.metrics:
        st.info(f"Run **{plain(run.name)}** {NO_ANALYSIS.get(run.state, NO_ANALYSIS['queued'])}")
        st.page_link(TRAIN.path, label="See it on Train", query_params={RUN_PARAM: run.id})
        return None
    try:
        run_predictions(runs, run.id)
    except (RunNotFound, FileNotFoundError) as exc:
        st.error(f"This run's stored predictions cannot be read: {exc}")
        return None
    return run


def or_stop(read: Callable[[], T], whose: str) -> T:
    """What ``read`` returns; if a run's file is missing or damaged, say so (``whose``, a run's name, as
    plain text) and end the page."""
    try:
        return read()
    except RunNotFound as exc:
        st.error(f"**{plain(whose)}:** {exc}")
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
    from fmnist_lab.config import CLASS_NAMES

    best = metrics.top_k(probabilities, k)
    return f"#{index} · " + " · ".join(f"{CLASS_NAMES[c]} {p:.0%}" for c, p in best)


@st.cache_data(max_entries=8, show_spinner=False)
def _weights(run_id: str, root: str, stamp: int) -> list[np.ndarray]:
    return RunStore(root).weights(run_id)


def run_weights(runs: RunStore, run_id: str) -> list[np.ndarray]:
    """The run's stored Dense weights (kernel, bias, …), cached until the file changes; RunNotFound if absent."""
    return _weights(run_id, str(runs.root), file_stamp(runs, run_id, "weights.npz"))


def predict_one(runs: RunStore, run: Run, image: np.ndarray) -> np.ndarray:
    """The run's softmax output (10,) for one 28×28 uint8 image, scaled as in training.

    Computed in NumPy from the stored weights (``fmnist_lab.analysis.forward``): TensorFlow stays out
    of the server. Raises ``RunNotFound`` if the run has no weights file.
    """
    from fmnist_lab.training.data import prepare

    weights = run_weights(runs, run.id)
    return forward.predict(weights, run.config.activation, prepare(image[None], run.config.normalize))[0]


def pick_cell(event: Any, first: tuple[int, int], prefix: str) -> None:
    """Set the ``<prefix>_true`` / ``<prefix>_pred`` select boxes: to ``first`` (the most confused
    pair) on a first visit, and to a confusion cell when one is newly clicked (a click once applied
    does not undo a later choice in the boxes)."""
    st.session_state.setdefault(f"{prefix}_true", first[0])
    st.session_state.setdefault(f"{prefix}_pred", first[1])
    cell = clicked_cell(event.selection.points) if event and event.selection else None
    if cell is not None and st.session_state.get(f"{prefix}_clicked") != cell:
        st.session_state[f"{prefix}_true"], st.session_state[f"{prefix}_pred"] = cell
    st.session_state[f"{prefix}_clicked"] = cell
