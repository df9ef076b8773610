"""Cached computations and widgets of the Inside page, all in NumPy from a run's stored weights.

The test set's first-layer activations (10,000 × units float32: 40 MB for 1024 units) are
kept with ``st.cache_resource`` and marked read-only: ``st.cache_data`` would pickle and copy
them on every rerun, which alone costs more than the 150 ms a slider move may take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from fmnist_lab.analysis import forward, inside
from fmnist_lab.charts.inside import neuron_grid
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.runs import Run, RunNotFound, RunStore
from fmnist_lab.training.data import prepare
from fmnist_lab.ui import analysis

MAP_IMAGES = 2_000  # test images on the hidden-space map: a fixed random sample keeps PCA and drawing quick
GRID_PAGE = 128  # neuron pictures per page when a layer is wider
TOP_IMAGES = 12  # test images shown for a chosen neuron
PLAY_SECONDS = 1.0  # Play shows each epoch's pictures this long (only the pictures rerun)
FIRST_SHOWN = "inside_first_shown"  # session state: the first neuron of the pictures
PLAY_HELP = "Step the pictures through the epochs, one a second, and stop at the last."


@dataclass(frozen=True, eq=False)
class FirstLayer:
    """The first hidden layer as stored after the chosen epoch, and what it does to the test set."""

    key: str  # the run, epoch and file stamp it was computed from: keys the caches built on it
    kernel: np.ndarray  # (784, m) incoming weights; m < units for an epoch snapshot of a wide layer
    bias: np.ndarray  # (m,)
    activations: np.ndarray  # (n, m) float32 on the test images, read-only
    labels: np.ndarray  # (n,) true classes of the test images
    means: np.ndarray  # (m, 10) mean activation per true class

    def separation(self) -> np.ndarray:
        """(m,) 0–1, how well each neuron tells the classes apart; computed only to rank by it (~0.5 s)."""
        return inside.separation(self.activations, self.labels)


def test_inputs(run: Run, images: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` test images scaled as the run was trained: (n, 28, 28) float32."""
    return prepare(images[:n], run.config.normalize)


@st.cache_resource(max_entries=4, show_spinner="Running the test set through the first layer…")
def _first_layer(
    run_id: str, root: str, epoch: int | None, stamp: int, activation: str, normalize: bool, _images: np.ndarray
) -> FirstLayer:
    store = RunStore(root)
    if epoch is None:
        kernel, bias = store.weights(run_id)[:2]
    else:
        snapshot = store.epoch_snapshot(run_id, epoch)
        kernel, bias = snapshot.kernel, snapshot.bias
    _, labels = store.predictions(run_id)
    x = prepare(_images[: len(labels)], normalize).reshape(len(labels), -1)  # (n, 784)
    activations = forward.ACTIVATIONS[activation](x @ kernel + bias).astype(np.float32)
    activations.setflags(write=False)
    key = f"{root}|{run_id}|{epoch}|{stamp}"
    return FirstLayer(key, kernel, bias, activations, labels, inside.class_means(activations, labels))


def first_layer(runs: RunStore, run: Run, epoch: int | None, images: np.ndarray) -> FirstLayer:
    """The first layer after ``epoch`` (None: the end) and its test-set statistics, cached."""
    stamp = analysis.file_stamp(runs, run.id, "weights.npz" if epoch is None else f"epochs/{epoch}.npz")
    return _first_layer(run.id, str(runs.root), epoch, stamp, run.config.activation, run.config.normalize, images)


@st.cache_data(max_entries=8, show_spinner="Projecting the hidden layer to 2-D…")
def _hidden_map(
    run_id: str, root: str, stamp: int, activation: str, normalize: bool, _images: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    store = RunStore(root)
    _, labels = store.predictions(run_id)
    n = len(labels)
    chosen = np.sort(np.random.default_rng(0).choice(n, min(n, MAP_IMAGES), replace=False))
    hidden = inside.activations(store.weights(run_id), activation, prepare(_images[chosen], normalize))[-1]
    coords, explained = inside.pca_2d(hidden)
    return chosen, coords, explained


def hidden_map(runs: RunStore, run: Run, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test indices (k,), their last hidden layer's PCA coordinates (k, 2) and explained variance (2,)."""
    stamp = analysis.file_stamp(runs, run.id, "weights.npz")
    return _hidden_map(run.id, str(runs.root), stamp, run.config.activation, run.config.normalize, images)


@st.cache_data(max_entries=8, show_spinner=False)
def _layer_means(run_id: str, root: str, stamp: int, activation: str, normalize: bool, _images: np.ndarray) -> list:
    store = RunStore(root)
    _, labels = store.predictions(run_id)
    layers = inside.activations(store.weights(run_id), activation, prepare(_images[: len(labels)], normalize))
    return [inside.class_means(a, labels) for a in layers]


def layer_means(runs: RunStore, run: Run, images: np.ndarray) -> list[np.ndarray]:
    """Each hidden layer's mean activation per class, (units, 10) per layer, cached."""
    stamp = analysis.file_stamp(runs, run.id, "weights.npz")
    return _layer_means(run.id, str(runs.root), stamp, run.config.activation, run.config.normalize, images)


def shown_neurons(layer: FirstLayer) -> np.ndarray:
    """All neurons of a narrow layer; of a wide one, a page of them ranked as the learner picks."""
    units = layer.kernel.shape[1]
    if units <= GRID_PAGE:
        return np.arange(units)
    left, right = st.columns(2)
    by = left.radio(
        "Rank neurons by",
        inside.RANKINGS,
        format_func={"norm": "weight size", "separation": "how well they tell classes apart"}.__getitem__,
        horizontal=True,
        key="inside_rank",
    )
    pages = -(-units // GRID_PAGE)
    page = right.number_input(f"Page (of {pages})", 1, pages, 1, key="inside_page")
    order = _ranking(layer.key, by, layer)
    return order[(page - 1) * GRID_PAGE : page * GRID_PAGE]


@st.cache_resource(max_entries=8, show_spinner="Ranking the neurons…")
def _ranking(key: str, by: str, _layer: FirstLayer) -> np.ndarray:
    return inside.rank_neurons(_layer.kernel, _layer.activations, _layer.labels, by)


def contribution_sentence(path: inside.Path) -> str:
    """The largest pushes towards the winning class, in words."""
    layer = f"hidden_{len(path.activations)}" if path.activations else "pixel"
    terms = ", ".join(f"neuron {j} (+{value:.2f})" for j, value in path.contributions if value > 0)
    winner = CLASS_NAMES[path.predicted]
    if not terms:
        return f"No {layer} neuron pushed towards **{winner}**; its bias alone decided."
    return f"The largest pushes towards **{winner}** came from {layer} {terms}: activation × weight to {winner}."


@st.cache_data(max_entries=8, show_spinner=False)
def _color_limit(run_id: str, root: str, stamp: int, epochs: tuple[int, ...]) -> float:
    store = RunStore(root)
    kernels = [store.epoch_snapshot(run_id, epoch).kernel for epoch in epochs]
    return inside.shared_color_limit([*kernels, store.weights(run_id)[0]])


def run_color_limit(runs: RunStore, run: Run) -> float:
    """One colour range for every epoch's pictures of ``run``: the largest over its snapshots and final weights."""
    stamp = analysis.file_stamp(runs, run.id, "weights.npz")
    try:
        return _color_limit(run.id, str(runs.root), stamp, tuple(runs.snapshot_epochs(run.id)))
    except RunNotFound:  # a damaged snapshot: the final weights alone
        return inside.color_limit(runs.weights(run.id)[0])


def play_step(epochs: list[int], current: int | None) -> tuple[int, bool]:
    """Play's next epoch after ``current`` and whether to keep playing (not past the last)."""
    later = [epoch for epoch in epochs if current is not None and epoch > current]
    step = later[0] if later else epochs[-1]
    return step, step != epochs[-1]


def neuron_pictures(runs: RunStore, run: Run, images: np.ndarray) -> int | None:
    """The epoch slider with Play and the neuron pictures. Play reruns only this part, once a second
    (``st.fragment(run_every=…)``); the rest of the tab follows the slider when Play stops.
    Returns the epoch the rest of the tab shows (None: the finished run)."""
    epochs = runs.snapshot_epochs(run.id)
    key = f"inside_epoch_{run.id}"
    playing = len(epochs) > 1 and bool(st.session_state.get(f"{key}_play"))
    st.fragment(_pictures, run_every=PLAY_SECONDS if playing else None)(runs, run, images, epochs, key)
    return _shown_epoch(epochs, st.session_state.get(key))


def _shown_epoch(epochs: list[int], picked: int | None) -> int | None:
    return None if len(epochs) < 2 or picked is None or picked == epochs[-1] else int(picked)


def _pictures(runs: RunStore, run: Run, images: np.ndarray, epochs: list[int], key: str) -> None:
    if st.session_state.pop(f"{key}_follow", False):  # the learner moved the slider or pressed Play
        st.rerun(scope="app")  # the whole tab follows (and Play's clock starts or stops)
    if len(epochs) > 1 and st.session_state.get(f"{key}_play") and _a_tick():
        step, more = play_step(epochs, st.session_state.get(key, epochs[-1]))
        st.session_state[key], st.session_state[f"{key}_play"] = step, more
        if not more:
            st.rerun(scope="app")  # the last epoch: the clock stops and the whole tab shows it
    epoch = _slider(epochs, key) if len(epochs) > 1 else None
    if epoch is None:  # the finished run: every neuron, ranked a page at a time when the layer is wide
        layer = first_layer(runs, run, None, images)
        kernel, shown = layer.kernel, shown_neurons(layer)
    else:  # a snapshot: its weights alone, no pass over the test set, so Play's step stays quick
        kernel = snapshot_kernel(runs, run, epoch)
        shown = np.arange(kernel.shape[1])
    if kernel.shape[1] < run.config.hidden_units[0]:
        st.caption(f"Epoch snapshots keep the first {kernel.shape[1]} neurons; the last epoch shows all.")
    st.session_state[FIRST_SHOWN] = int(shown[0])  # the neuron the details below start with
    pictures = inside.neuron_pictures(kernel[:, shown])
    grid = neuron_grid(pictures, run_color_limit(runs, run), titles=[str(j) for j in shown], neurons=list(shown))
    st.plotly_chart(grid, key="inside_grid")
    st.caption(
        "What to look for: red pixels raise the neuron's sum, blue lower it; one colour scale for every epoch, "
        f"so the colours deepen as the weights grow. {analysis.epoch_note(epoch).capitalize()}."
    )


def _a_tick() -> bool:
    """Whether this run is the fragment's own rerun (Play's clock), not a run of the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return bool(context is not None and context.fragment_ids_this_run)


def _slider(epochs: list[int], key: str) -> int | None:
    """The Play toggle and the epoch slider; the chosen epoch, None for the last (the finished run)."""
    slider, play = st.columns([5, 1], vertical_alignment="bottom")
    play.toggle("Play", key=f"{key}_play", on_change=_play_pressed, args=(key, epochs), help=PLAY_HELP)
    picked = slider.select_slider(
        "After epoch",
        epochs,
        value=epochs[-1],
        key=key,
        on_change=_follow,
        args=(key,),
        help="Replay the pictures as they were after each epoch of training; the last is the finished run.",
    )
    return _shown_epoch(epochs, picked)


def _follow(key: str) -> None:
    st.session_state[f"{key}_follow"] = True


def _play_pressed(key: str, epochs: list[int]) -> None:
    """Play pressed at the last epoch begins again from the first; either way the page reruns whole."""
    if st.session_state.get(f"{key}_play") and st.session_state.get(key, epochs[-1]) == epochs[-1]:
        st.session_state[key] = epochs[0]
    _follow(key)


@st.cache_data(max_entries=64, show_spinner=False)
def _snapshot_kernel(run_id: str, root: str, epoch: int, stamp: int) -> np.ndarray:
    return RunStore(root).epoch_snapshot(run_id, epoch).kernel


def snapshot_kernel(runs: RunStore, run: Run, epoch: int) -> np.ndarray:
    """The first layer's kernel (784, k) kept after ``epoch``, cached."""
    return _snapshot_kernel(run.id, str(runs.root), epoch, analysis.file_stamp(runs, run.id, f"epochs/{epoch}.npz"))
