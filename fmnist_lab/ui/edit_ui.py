"""Edit the image and watch the answer: a drawing canvas over the enlarged picture, Reset and "Flip it".

Runs as a fragment, so a stroke reruns only this part of the page: the edited picture's softmax bars and pixel
contributions, in NumPy from the stored weights (a few milliseconds; ``bench/explain.py`` times it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas  # type: ignore[import-untyped]  # no py.typed

from fmnist_lab.analysis import explain, metrics
from fmnist_lab.charts import explain as charts
from fmnist_lab.charts.predictions import softmax_bars
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.runs import Run, RunStore
from fmnist_lab.ui import explain_ui

ZOOM = 10  # canvas pixels per image pixel: a 280 × 280 canvas
BRUSHES = {"paint": "#FFFFFF", "erase": "#000000"}  # Fashion-MNIST garments are light on black


@dataclass
class Edit:
    """One image's editing state, kept in the session."""

    original: np.ndarray  # (28, 28) uint8
    base: np.ndarray  # what the canvas starts from: the original, or the last flip's result
    version: int = 0  # part of the canvas key: a new version clears the strokes
    flip: explain.Flip | None = field(default=None)
    edited: np.ndarray | None = None  # base with the canvas's strokes, as last drawn


def edit_state(key: str, original: np.ndarray) -> Edit:
    """This image's editing state, created on first use."""
    state = st.session_state.get(key)
    if not isinstance(state, Edit) or not np.array_equal(state.original, original):
        state = st.session_state[key] = Edit(original, original.copy())
    return state


@st.fragment
def edit_image(runs: RunStore, run: Run, original: np.ndarray, key: str) -> None:
    """The canvas and its buttons on the left, the edited picture's answer on the right."""
    state = edit_state(key, original)
    weights = explain_ui.wide_weights(runs, run)
    left, right = st.columns([2, 3])
    with left:
        state.edited = edited = canvas(state, key)
        reset, flip = st.columns(2)
    reset.button("Reset", key=f"{key}_reset", icon=":material/restart_alt:", on_click=_reset, args=(key,))
    relu = run.config.activation == "relu"
    flip.button(
        "Flip it",
        key=f"{key}_flip",
        disabled=not relu,
        help="Change the fewest pixels (chosen greedily by contribution) that make the runner-up win.",
        on_click=_flip,
        args=(key, weights, run.config.normalize),
    )
    with right:
        answer(weights, run, edited, key)
    if state.flip is not None:
        flip_note(state.flip)


def _reset(key: str) -> None:
    state = st.session_state[key]
    st.session_state[key] = Edit(state.original, state.original.copy(), state.version + 1)


def _flip(key: str, weights: list[np.ndarray], normalize: bool) -> None:
    """Flip the picture as last drawn; the result becomes the canvas's new starting point."""
    state = st.session_state[key]
    found = explain.flip(weights, "relu", state.base if state.edited is None else state.edited, normalize)
    st.session_state[key] = Edit(state.original, found.image, state.version + 1, found)


def canvas(state: Edit, key: str) -> np.ndarray:
    """The drawing canvas over ``state.base``; the edited picture (28, 28) uint8."""
    brush = st.radio("Brush", list(BRUSHES), horizontal=True, key=f"{key}_brush")
    size = st.slider("Brush size (pixels)", 1, 4, 2, key=f"{key}_size")
    background = Image.fromarray(np.kron(state.base, np.ones((ZOOM, ZOOM), dtype=np.uint8)))
    drawing = st_canvas(
        stroke_width=size * ZOOM,
        stroke_color=BRUSHES[brush],
        background_image=background,
        width=28 * ZOOM,
        height=28 * ZOOM,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{key}_canvas_{state.version}",
    )
    layer = drawing.image_data
    return state.base if layer is None else explain.painted(state.base, layer)


def answer(weights: list[np.ndarray], run: Run, image: np.ndarray, key: str) -> None:
    """The softmax bars and, for relu, the predicted and runner-up classes' pixel contributions."""
    x = explain.network_input(image, run.config.normalize)
    if run.config.activation != "relu":
        probabilities = metrics.softmax(explain.logits_of(weights, run.config.activation, x[None])[0])
        st.plotly_chart(softmax_bars(probabilities.tolist()), key=f"{key}_bars")
        return
    d = explain.decompose(weights, "relu", x)
    st.plotly_chart(softmax_bars(d.probabilities.tolist()), key=f"{key}_bars")
    p, r = d.predicted, d.runner_up
    sums = d.contributions.sum(axis=0)
    titles = [f"{CLASS_NAMES[p]}: Σ = {sums[p]:.2f}", f"{CLASS_NAMES[r]}: Σ = {sums[r]:.2f}"]
    st.plotly_chart(charts.map_grid([d.contribution(p), d.contribution(r)], titles, height=260), key=f"{key}_maps")


def flip_note(flip: explain.Flip) -> None:
    """What the last "Flip it" changed and what the network says now."""
    painted = sum(1 for *_, new in flip.pixels if new > 0)
    change = f"{len(flip.pixels)} pixels ({painted} painted white, {len(flip.pixels) - painted} erased to black)"
    if flip.flipped:
        st.success(f"**Flip it** changed {change}: the answer is now **{CLASS_NAMES[flip.predicted]}**.")
    else:
        st.warning(
            f"**Flip it** changed {change} but could not reach **{CLASS_NAMES[flip.target]}**: "
            f"the answer is **{CLASS_NAMES[flip.predicted]}**."
        )
