"""The "inside the network" charts draw exactly the numbers they are given."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from fmnist_lab.analysis import inside
from fmnist_lab.charts.inside import (
    GRID_COLUMNS,
    GRID_WIDTH,
    TITLE_ROWS,
    ZERO_COLOR,
    hidden_map,
    layer_path,
    neuron_class_bars,
    neuron_grid,
    weight_matrix,
)
from fmnist_lab.charts.style import HELDOUT_COLOR, MARGIN
from fmnist_lab.config import CLASS_NAMES


def test_neuron_grid_is_one_heatmap_holding_every_picture() -> None:
    pictures = np.random.default_rng(0).normal(size=(37, 28, 28)).astype(np.float32)
    figure = neuron_grid(pictures, limit=1.5, columns=8, neurons=np.arange(100, 137))
    assert len(figure.data) == 1 and isinstance(figure.data[0], go.Heatmap)
    heatmap = figure.data[0]
    z, owner = np.asarray(heatmap.z), np.asarray(heatmap.customdata)  # owner: the neuron of each cell
    assert owner.shape == z.shape
    for j in (0, 8, 36):  # first, second row, the lone last one
        np.testing.assert_array_equal(z[owner == 100 + j].reshape(28, 28), pictures[j])
    assert np.isnan(z[owner == -1]).all() and not np.isnan(z[owner != -1]).any()
    assert (heatmap.zmin, heatmap.zmax) == (-1.5, 1.5) and heatmap.reversescale  # red positive, white at 0


def test_neuron_grid_titles_sit_above_their_pictures() -> None:
    figure = neuron_grid(np.zeros((5, 28, 28)), limit=1.0, columns=4, titles=[f"#{i}" for i in range(5)])
    texts = [a.text for a in figure.layout.annotations]
    assert texts == ["#0", "#1", "#2", "#3", "#4"]
    owner = np.asarray(figure.data[0].customdata)
    for annotation, j in zip(figure.layout.annotations, range(5), strict=True):
        rows, cols = np.nonzero(owner == j)
        assert cols.min() <= annotation.x <= cols.max() and annotation.y < rows.min()  # y grows downwards


def test_neuron_class_bars() -> None:
    figure = neuron_class_bars([0.1 * i for i in range(10)])
    assert len(figure.data) == 1
    assert list(figure.data[0].x) == list(CLASS_NAMES)
    np.testing.assert_allclose(figure.data[0].y, [0.1 * i for i in range(10)])


@pytest.fixture
def path() -> inside.Path:
    rng = np.random.default_rng(1)
    weights = [rng.normal(scale=0.3, size=s).astype(np.float32) for s in ((784, 12), (12,), (12, 6), (6,))]
    weights += [rng.normal(size=(6, 10)).astype(np.float32), np.zeros(10, np.float32)]
    return inside.trace(weights, "relu", rng.random((28, 28), dtype=np.float32))


def test_layer_path_draws_image_each_layer_logits_and_softmax(path: inside.Path) -> None:
    figure = layer_path(path)
    assert len(figure.data) == 1 + 2 + 2  # image, two hidden layers, logits, softmax
    image, first, second, logits, softmax = figure.data
    np.testing.assert_array_equal(np.asarray(image.z), path.inputs.reshape(28, 28))
    for dots, a, z in zip((first, second), path.activations, path.pre_activations, strict=True):
        np.testing.assert_array_equal(dots.y, a)
        np.testing.assert_array_equal(dots.customdata, z)
        grey = np.asarray(dots.marker.color) == ZERO_COLOR
        np.testing.assert_array_equal(grey, a == 0)
    assert (path.activations[0] == 0).any()  # relu silenced some: the case the grey is for
    np.testing.assert_array_equal(logits.y, path.logits)
    np.testing.assert_array_equal(softmax.y, path.probabilities)
    assert softmax.marker.color[path.predicted] == HELDOUT_COLOR


def test_hidden_map_one_fast_trace_per_class_with_test_indices() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 500)
    predicted = np.where(rng.random(500) < 0.8, labels, rng.integers(0, 10, 500))
    coords, indices = rng.normal(size=(500, 2)), rng.permutation(10_000)[:500]
    figure = hidden_map(coords, labels, predicted, indices, explained=np.array([0.25, 0.125]))  # as pca_2d gives it
    assert len(figure.data) == 10 and all(isinstance(t, go.Scattergl) for t in figure.data)
    assert len({t.marker.color for t in figure.data}) == 10
    for label, points in enumerate(figure.data):
        mine = labels == label
        assert points.name == CLASS_NAMES[label]
        np.testing.assert_array_equal(points.customdata, indices[mine])
        np.testing.assert_array_equal(np.column_stack([points.x, points.y]), coords[mine])
        assert list(points.text) == [CLASS_NAMES[p] for p in predicted[mine]]
    assert figure.layout.xaxis.title.text == "component 1 (25% of the variance)"


def test_weight_matrix_is_the_kernel_on_a_symmetric_scale() -> None:
    kernel = np.random.default_rng(3).normal(size=(12, 6)).astype(np.float32)
    figure = weight_matrix(kernel)
    assert len(figure.data) == 1
    np.testing.assert_array_equal(np.asarray(figure.data[0].z), kernel)
    assert figure.data[0].zmax == pytest.approx(np.abs(kernel).max()) and figure.data[0].zmin == -figure.data[0].zmax


@pytest.mark.parametrize("count", [16, 128])
def test_neuron_pictures_are_large_enough_and_their_numbers_fit_above_them(count: int) -> None:
    figure = neuron_grid(np.zeros((count, 28, 28)), limit=1.0, titles=[str(j) for j in range(count)])
    rows, columns = -(-count // GRID_COLUMNS), GRID_COLUMNS
    plot_height = figure.layout.height - MARGIN["t"] - MARGIN["b"]
    per_pixel = min(GRID_WIDTH / (columns * 30 - 2), plot_height / (rows * (TITLE_ROWS + 28)))  # square pixels
    assert 28 * per_pixel >= 70  # each picture at least 70 screen pixels wide
    assert TITLE_ROWS * per_pixel >= figure.layout.annotations[0].font.size + 4  # the number clears the picture
