"""The explanation charts: colours that mean the same amount everywhere, sums that show their parts."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from fmnist_lab.charts import explain as charts


def test_diverging_rgb_maps_sign_to_colour() -> None:
    rgb = charts.diverging_rgb(np.array([[-2.0, 0.0, 1.0, 4.0]]), limit=2.0, zoom=3)
    assert rgb.shape == (3, 12, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == charts.BLUE.tolist() and rgb[0, 3].tolist() == [255, 255, 255]
    assert rgb[0, 9].tolist() == charts.RED.tolist()  # beyond the limit saturates
    assert rgb[0, 6].tolist() == np.round((255 + charts.RED) / 2).astype(int).tolist()  # halfway to red


def test_png_round_trips() -> None:
    picture = charts.enlarge(np.arange(784, dtype=np.uint16).reshape(28, 28) % 256, zoom=2)
    decoded = np.asarray(Image.open(io.BytesIO(charts.png(picture))))
    assert decoded.shape == (56, 56) and np.array_equal(decoded, picture)


def test_limit_ignores_one_outlier_and_never_is_zero() -> None:
    values = np.ones(1000)
    values[0] = 1e6
    assert charts.limit_of(values) == 1.0 and charts.limit_of(np.zeros(5)) == 1.0


def test_map_grid_shares_one_colour_range() -> None:
    figure = charts.map_grid([np.full((28, 28), 0.5), -np.ones((28, 28))], ["a", "b"])
    assert [(t.zmin, t.zmax) for t in figure.data] == [(-1.0, 1.0), (-1.0, 1.0)]
    assert [a.text for a in figure.layout.annotations] == ["a", "b"]


def test_logit_sum_shows_pixels_biases_and_their_total() -> None:
    figure = charts.logit_sum(np.arange(10.0), -np.ones(10), [3, 1])
    pixels, biases, total = figure.data
    assert list(pixels.x) == ["Dress", "Trouser"] and list(pixels.y) == [3.0, 1.0] and list(biases.y) == [-1.0, -1.0]
    assert list(total.y) == [2.0, 0.0]
    assert list(figure.layout.xaxis.ticktext) == ["Dress<br>+3.00 -1.00 = 2.00", "Trouser<br>+1.00 -1.00 = 0.00"]


def test_zeroed_neurons_are_grey() -> None:
    figure = charts.zeroed_neurons(np.array([0.5, -1.0, 0.0]), "t")
    assert list(figure.data[0].marker.color) == [charts.BAR_COLOR, charts.DEAD_COLOR, charts.DEAD_COLOR]
