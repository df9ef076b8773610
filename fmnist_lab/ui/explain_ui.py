"""The Predictions page's "Why this answer?": cached explanations of one image and their charts.

Everything is NumPy from the run's stored weights (``fmnist_lab.analysis.explain``), cached per run, weights
file and image; the charts come from ``fmnist_lab.charts.explain``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from fmnist_lab.analysis import explain
from fmnist_lab.charts import explain as charts
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.runs import Run, RunNotFound, RunStore
from fmnist_lab.ui import analysis

RELU_ONLY = (
    "This run's hidden layers use **{activation}**, which is curved everywhere, so its logits do not split exactly "
    "into templates × pixels + biases (that holds for relu only). The gradient, Integrated Gradients and "
    "occlusion below still show which pixels matter."
)


@st.cache_resource(max_entries=4, show_spinner=False)
def _wide_weights(run_id: str, root: str, stamp: int) -> list[np.ndarray]:
    weights = explain.widened(RunStore(root).weights(run_id))
    for array in weights:
        array.setflags(write=False)  # shared by every session: read-only
    return weights


def wide_weights(runs: RunStore, run: Run) -> list[np.ndarray]:
    """The run's weights as float64, kept once per weights file (an edit then costs no conversion)."""
    return _wide_weights(run.id, str(runs.root), analysis.file_stamp(runs, run.id, "weights.npz"))


@st.cache_data(max_entries=64, show_spinner=False)
def _explanation(run_id: str, root: str, stamp: int, image: np.ndarray) -> explain.Explanation:
    runs = RunStore(root)
    config = runs.load(run_id).config
    return explain.explain(_wide_weights(run_id, root, stamp), config.activation, config.normalize, image)


def explanation(runs: RunStore, run: Run, image: np.ndarray) -> explain.Explanation:
    """The run's explanation of the raw picture ``image`` (28, 28) uint8, cached; RunNotFound without weights."""
    return _explanation(run.id, str(runs.root), analysis.file_stamp(runs, run.id, "weights.npz"), image)


@st.cache_data(max_entries=16, show_spinner="Counting relu's zeros over the test set…")
def _test_zeros(run_id: str, root: str, epoch: int | None, stamp: int, _images: np.ndarray) -> list:
    runs = RunStore(root)
    config = runs.load(run_id).config
    _, labels = runs.predictions(run_id)
    x = explain.network_input(_images[: len(labels)], config.normalize)
    if epoch is None:
        fires = explain.active(_wide_weights(run_id, root, stamp), config.activation, x)
        return [(f"hidden_{n}", explain.zeros(f, labels)) for n, f in enumerate(fires, start=1)]
    snapshot = runs.epoch_snapshot(run_id, epoch)  # the first layer's first m neurons only
    fires = (x @ snapshot.kernel.astype(np.float64) + snapshot.bias) > 0
    return [(f"hidden_1 (first {fires.shape[1]} neurons)", explain.zeros(fires, labels))]


def test_zeros(runs: RunStore, run: Run, images: np.ndarray, epoch: int | None) -> list[tuple[str, explain.Zeros]]:
    """Per hidden layer, relu's zeros over the run's test images after ``epoch`` (None: the end), cached."""
    name = "weights.npz" if epoch is None else f"epochs/{epoch}.npz"
    return _test_zeros(run.id, str(runs.root), epoch, analysis.file_stamp(runs, run.id, name), images)


def why_section(runs: RunStore, run: Run, image: np.ndarray, true: int | None, key: str) -> bool:
    """Templates, contributions and their sum, saliency, IG and occlusion for ``image``; ``key`` prefixes charts.

    False (and a note) if the run has no weights to explain with.
    """
    try:
        result = explanation(runs, run, image)
    except RunNotFound as exc:
        st.warning(f"{exc} Train a new run to see why it answers as it does.")
        return False
    d = result.decomposition
    other = true if true is not None and true != result.predicted else int(np.argsort(-result.logits)[1])
    if d is None:
        st.info(RELU_ONLY.format(activation=run.config.activation))
    else:
        exact_parts(d, result.predicted, other, true, key)
    comparison(result, key)
    return True


def exact_parts(d: explain.Decomposition, predicted: int, other: int, true: int | None, key: str) -> None:
    """The templates, the pixel contributions, and the sum that gives each logit."""
    pred_name, other_name = CLASS_NAMES[predicted], CLASS_NAMES[other]
    role = "the true class" if other == true else "the runner-up"
    st.markdown(
        f"With this image's active neurons fixed, each logit is *template · image + biases*. Why **{pred_name}** "
        f"rather than **{other_name}** ({role})? Red pixels push a class up, blue pull it down."
    )
    sums = d.contributions.sum(axis=0)
    st.plotly_chart(charts.logit_sum(sums, d.bias_terms, [predicted, other]), key=f"{key}_sum")
    gap = float(np.abs(sums + d.bias_terms - d.logits).max())
    st.caption(f"Pixels + biases = logits for all ten classes, to within {gap:.1e}.")
    titles = [f"Template: {pred_name}", f"Template: {other_name}"]
    st.plotly_chart(charts.map_grid([d.template(predicted), d.template(other)], titles), key=f"{key}_templates")
    maps = [d.contribution(predicted), d.contribution(other), d.contribution(predicted, versus=other)]
    titles = [f"{pred_name}: Σ = {sums[predicted]:.2f}", f"{other_name}: Σ = {sums[other]:.2f}"]
    titles.append(f"{pred_name} − {other_name}: Σ = {sums[predicted] - sums[other]:.2f}")
    st.plotly_chart(charts.map_grid(maps, titles), key=f"{key}_contributions")


def comparison(result: explain.Explanation, key: str) -> None:
    """Gradient saliency, Integrated Gradients and occlusion, each on its own colour range."""
    name = CLASS_NAMES[result.predicted]
    maps = [result.saliency.reshape(28, 28), result.ig.attributions.reshape(28, 28), explain.upscale(result.occlusion)]
    scaled = [m / charts.limit_of(m) for m in maps]
    titles = ["Gradient (saliency)", "Integrated Gradients", f"Occlusion: drop in p({name})"]
    st.markdown("**For comparison**, the usual approximations (each on its own colour range):")
    st.plotly_chart(charts.map_grid(scaled, titles, limit=1.0), key=f"{key}_compare")
    st.caption(
        f"Integrated Gradients from a black image: its attributions add to {result.ig.difference:.2f}, "
        f"the change of the {name} logit, within {result.ig.completeness_error:.2%}. Occlusion greys out "
        f"{explain.PATCH}×{explain.PATCH} squares one at a time."
    )


def zeros_for_image(runs: RunStore, run: Run, image: np.ndarray, key: str) -> None:
    """Which neurons relu zeroed for this image, and the answer if relu kept the negatives."""
    weights = wide_weights(runs, run)
    x = explain.network_input(image, run.config.normalize)
    layers, _ = explain.hidden_layers(weights, run.config.activation, x[None])
    columns = st.columns(len(layers) + 1)
    for n, (column, (z, _)) in enumerate(zip(columns, layers, strict=False), start=1):
        column.metric(f"hidden_{n}: zeroed", f"{int((z[0] <= 0).sum())} of {z.shape[1]}")
    linear = explain.without_relu(weights, x)
    columns[-1].metric("Without relu it says", f"{CLASS_NAMES[int(linear.argmax())]} ({linear.max():.0%})")
    st.plotly_chart(charts.zeroed_neurons(layers[0][0][0], "hidden_1 for this image: grey = zeroed"), key=f"{key}_z")


def zeros_section(runs: RunStore, run: Run, images: np.ndarray, epoch: int | None) -> None:
    """Dead neurons and firing shares over the test set, after ``epoch``."""
    layers = test_zeros(runs, run, images, epoch)
    columns = st.columns(len(layers))
    for column, (name, summary) in zip(columns, layers, strict=True):
        column.metric(f"{name}: dead on the test set", f"{summary.dead_share:.1%}", help="never fire on any image")
        column.caption(f"{int(summary.dead.sum())} neurons; a typical image lights {summary.per_image.mean():.0%}.")
    chart = charts.firing_per_class([s.per_class for _, s in layers], [name for name, _ in layers])
    st.plotly_chart(chart, key="why_zeros_classes")
