"""Charts are pure functions: check the numbers they draw, without a browser."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fmnist_lab import charts
from fmnist_lab.config import CLASS_NAMES

HISTORY = [
    {"epoch": 1, "fraction": 1.0, "loss": 0.50, "accuracy": 0.82, "val_loss": 0.44, "val_accuracy": 0.85},
    {"epoch": 2, "fraction": 1.0, "loss": 0.37, "accuracy": 0.86, "val_loss": 0.39, "val_accuracy": 0.85},
    {"epoch": 3, "fraction": 1.0, "loss": 0.24, "accuracy": 0.88, "val_loss": 0.36, "val_accuracy": 0.87},
]


def trace(figure, name: str):  # noqa: ANN001, ANN201
    return next(t for t in figure.data if t.name == name)


def test_training_curves_plot_every_epoch() -> None:
    figure = charts.training_curves(HISTORY, epochs=5)
    assert list(trace(figure, "Training loss").y) == [0.50, 0.37, 0.24]
    assert list(trace(figure, "Held-out accuracy").y) == [0.85, 0.85, 0.87]
    assert list(trace(figure, "Training loss").x) == [1.0, 2.0, 3.0]
    assert trace(figure, "Training loss").line.dash == "dash" and trace(figure, "Held-out loss").line.dash == "solid"
    assert figure.layout.xaxis.range[1] == pytest.approx(5.2)


def test_live_progress_adds_the_running_curve() -> None:
    progress = {"trail": [[3.25, 0.30, 0.87], [3.5, 0.28, 0.88]]}
    figure = charts.training_curves(HISTORY, progress)
    running = trace(figure, "Training loss (running)")
    assert list(running.x) == [3.0, 3.25, 3.5] and list(running.y) == [0.24, 0.30, 0.28]


def test_threshold_line_and_stop_marker() -> None:
    figure = charts.training_curves(HISTORY, stop_loss=0.25)
    assert any(shape.y0 == 0.25 for shape in figure.layout.shapes)
    marker = trace(figure, "stopped here")
    assert list(marker.x) == [3.0] and list(marker.y) == [0.24]
    assert not [t for t in charts.training_curves(HISTORY, stop_loss=0.1).data if t.name == "stopped here"]


def test_partial_epoch_sits_between_epochs() -> None:
    history = [*HISTORY[:2], {**HISTORY[2], "fraction": 0.4}]
    assert list(trace(charts.training_curves(history), "Training loss").x) == [1.0, 2.0, pytest.approx(2.4)]


def test_confusion_heatmap_counts_and_percentages() -> None:
    cm = np.arange(100).reshape(10, 10)
    counts = charts.confusion_heatmap(cm)
    np.testing.assert_array_equal(np.array(counts.data[0].z), cm)
    assert list(counts.data[0].x) == list(CLASS_NAMES) and counts.data[0].text[0][1] == "1"
    rows = np.array(charts.confusion_heatmap(cm, normalised=True).data[0].z)
    np.testing.assert_allclose(rows.sum(axis=1), 100.0)
    empty_row = charts.confusion_heatmap(np.zeros((10, 10), dtype=int), normalised=True)
    assert np.array(empty_row.data[0].z).sum() == 0


def test_softmax_bars_mark_argmax_and_true_class() -> None:
    probabilities = np.full(10, 0.02)
    probabilities[6], probabilities[0] = 0.62, 0.22
    figure = charts.softmax_bars(probabilities, true_label=0)
    bar = figure.data[0]
    assert sum(bar.y) == pytest.approx(1.0)
    assert bar.marker.color[6] == charts.HELDOUT_COLOR and bar.marker.color[0] != charts.HELDOUT_COLOR
    assert bar.marker.line.width[0] == 3 and bar.marker.line.width[6] == 0
    assert figure.layout.title.text == "Softmax output: argmax Shirt, true T-shirt/top"


def test_sample_mosaic_places_each_class_on_its_row() -> None:
    labels = np.repeat(np.arange(10), 3)
    images = np.zeros((30, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = labels * 20 + 1  # a class-identifying pixel
    mosaic = charts.sample_mosaic(images, labels, per_class=3)
    assert mosaic.shape == (300, 90)
    for label in range(10):
        assert mosaic[30 * label + 1, 1] == label * 20 + 1


def test_sample_grid_is_the_mosaic_enlarged_with_a_name_left_of_every_row() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 2)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    picture = np.array(Image.open(io.BytesIO(charts.sample_grid(images, labels, per_class=2, zoom=2))))
    left = charts.LABEL_WIDTH * 2
    assert picture.shape == (600, left + 120)
    mosaic = picture[:, left:]
    np.testing.assert_array_equal(mosaic[::2, ::2], charts.sample_mosaic(images, labels, per_class=2))
    np.testing.assert_array_equal(mosaic[1::2, 1::2], mosaic[::2, ::2])  # each pixel drawn 2×2
    for row in range(10):  # dark text on white in every row's label band
        band = picture[60 * row : 60 * (row + 1), :left]
        assert band.min() < 100 and np.median(band) == 255


def test_class_balance_counts_every_class_in_both_sets() -> None:
    train, test = np.array([0, 0, 1, 9]), np.array([1, 1])
    spec = charts.class_balance(train, test)
    counts: dict[str, list[int]] = {}
    for value in spec["data"]["values"]:
        counts.setdefault(value["set"], []).append(value["images"])
    assert counts == {"training (4)": [2, 1, 0, 0, 0, 0, 0, 0, 0, 1], "test (2)": [0, 2, 0, 0, 0, 0, 0, 0, 0, 0]}
    assert [v["class"] for v in spec["data"]["values"][:10]] == list(CLASS_NAMES)


def test_pixel_histogram_counts_the_same_pixels_on_either_scale() -> None:
    pixels = np.array([[0, 0, 255, 128, 3]], dtype=np.uint8)  # bins of 64: [0, 64) × 3, [128, 192), [192, 256)
    raw = charts.pixel_histogram(pixels, bins=4)["data"]["values"]
    scaled = charts.pixel_histogram(pixels, bins=4, divide_by=255)["data"]["values"]
    assert [(v["low"], v["high"], v["pixels"]) for v in raw] == [(0, 64, 3), (128, 192, 1), (192, 256, 1)]  # no 0s
    assert [v["pixels"] for v in scaled] == [3, 1, 1]
    assert [v["low"] for v in scaled] == pytest.approx([0, 128 / 255, 192 / 255])


def test_compare_curves_one_colour_per_run() -> None:
    figure = charts.compare_curves([("a", HISTORY), ("b", HISTORY[:2])], "accuracy")
    assert [t.name for t in figure.data] == ["a · training", "a · held-out", "b · training", "b · held-out"]
    assert figure.data[0].line.color == figure.data[1].line.color != figure.data[2].line.color


def test_confusion_difference_is_symmetric_in_colour() -> None:
    diff = np.zeros((10, 10), dtype=int)
    diff[6, 0], diff[0, 6] = 12, -5
    heatmap = charts.confusion_difference(diff, ("128", "1024")).data[0]
    assert heatmap.zmin == -12 and heatmap.zmax == 12 and np.array(heatmap.z)[6, 0] == 12


def test_training_curves_mark_the_kept_epoch_and_where_early_stopping_stopped() -> None:
    figure = charts.training_curves(HISTORY, best_epoch=2)
    notes = sorted(a.text for a in figure.layout.annotations if a.text.startswith(("best", "stopped")))
    assert notes == ["best epoch 2 (kept)"] * 2 + ["stopped at 3"] * 2  # on the loss and the accuracy chart
    assert sorted(shape.x0 for shape in figure.layout.shapes) == [2, 2, 3, 3]
    assert not [a for a in charts.training_curves(HISTORY).layout.annotations if a.text.startswith("best")]


SWEEP_ROWS = [
    {"Hidden units": 64, "parameters": 50890, "held-out accuracy": 0.84, "test accuracy": 0.84, "s / epoch": 1.1},
    {"Hidden units": 16, "parameters": 12730, "held-out accuracy": 0.80, "test accuracy": 0.80, "s / epoch": 1.0},
    {"Hidden units": 256, "parameters": 203530, "held-out accuracy": None, "test accuracy": None, "s / epoch": None},
]


def test_sweep_curves_plot_finished_runs_in_order_on_a_log_axis() -> None:
    figure = charts.sweep_curves(SWEEP_ROWS, "Hidden units")
    accuracy = trace(figure, "test accuracy")
    assert list(accuracy.x) == [16, 64] and list(accuracy.y) == [0.80, 0.84]  # the unfinished run is left out
    assert list(accuracy.text) == ["12,730 parameters", "50,890 parameters"]
    assert list(trace(figure, "s / epoch").y) == [1.0, 1.1]
    assert figure.layout.xaxis.type == "log"


def test_sweep_heatmap_puts_each_run_in_its_cell() -> None:
    rows = [
        {"units": u, "epochs": e, "test accuracy": None if (u, e) == (64, 30) else u / 1000 + e / 100}
        for u in (16, 64)
        for e in (5, 30)
    ]
    heatmap = charts.sweep_heatmap(rows, "units", "epochs").data[0]
    assert list(heatmap.x) == ["16", "64"] and list(heatmap.y) == ["5", "30"]
    assert [list(line) for line in heatmap.z] == [[0.066, 0.114], [0.316, None]]
    assert heatmap.text[1][1] == "…"


def test_a_clickable_confusion_matrix_has_a_target_on_every_cell() -> None:
    cm = np.arange(100).reshape(10, 10)
    targets = trace(charts.confusion_heatmap(cm, clickable=True), charts.CELL_TARGETS)
    cells = list(zip(targets.y, targets.x, targets.customdata, strict=True))
    assert cells[23] == (CLASS_NAMES[2], CLASS_NAMES[3], cm[2, 3])  # row 2 (true), column 3 (predicted)
    assert len(set((y, x) for y, x, _ in cells)) == 100
    assert not [t for t in charts.confusion_heatmap(cm).data if t.name == charts.CELL_TARGETS]


def test_a_click_names_its_cell() -> None:
    point = {"curve_number": 1, "point_index": 35, "x": "Sandal", "y": "Dress", "customdata": {"0": 7}}
    assert charts.clicked_cell([point]) == (CLASS_NAMES.index("Dress"), CLASS_NAMES.index("Sandal")) == (3, 5)
    assert charts.clicked_cell([]) is None and charts.clicked_cell([{"x": 2.5, "y": 1}]) is None


def test_sweep_curves_tick_the_swept_values_and_prefer_cpu_seconds() -> None:
    rows = [r | {"CPU s / epoch": cpu} for r, cpu in zip(SWEEP_ROWS, (3.0, 1.5, None), strict=True)]
    figure = charts.sweep_curves(rows, "Hidden units")
    assert list(figure.layout.xaxis.tickvals) == [16, 64] and list(figure.layout.xaxis.ticktext) == ["16", "64"]
    assert list(trace(figure, "CPU s / epoch").y) == [1.5, 3.0]
    assert [t.name for t in figure.data if t.name and "s / epoch" in t.name] == ["CPU s / epoch"]
