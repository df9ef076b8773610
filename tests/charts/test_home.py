"""The home page's pictures: the mosaic, the enlarged grid with names, the class balance and pixel histogram specs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fmnist_lab.charts.home import LABEL_WIDTH, class_balance, pixel_histogram, sample_grid, sample_mosaic
from fmnist_lab.config import CLASS_NAMES


def test_sample_mosaic_places_each_class_on_its_row() -> None:
    labels = np.repeat(np.arange(10), 3)
    images = np.zeros((30, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = labels * 20 + 1  # a class-identifying pixel
    mosaic = sample_mosaic(images, labels, per_class=3)
    assert mosaic.shape == (300, 90)
    for label in range(10):
        assert mosaic[30 * label + 1, 1] == label * 20 + 1


def test_sample_grid_is_the_mosaic_enlarged_with_a_name_left_of_every_row() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 2)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    picture = np.array(Image.open(io.BytesIO(sample_grid(images, labels, per_class=2, zoom=2))))
    left = LABEL_WIDTH * 2
    assert picture.shape == (600, left + 120)
    mosaic = picture[:, left:]
    np.testing.assert_array_equal(mosaic[::2, ::2], sample_mosaic(images, labels, per_class=2))
    np.testing.assert_array_equal(mosaic[1::2, 1::2], mosaic[::2, ::2])  # each pixel drawn 2×2
    for row in range(10):  # dark text on white in every row's label band
        band = picture[60 * row : 60 * (row + 1), :left]
        assert band.min() < 100 and np.median(band) == 255


def test_class_balance_counts_every_class_in_both_sets() -> None:
    train, test = np.array([0, 0, 1, 9]), np.array([1, 1])
    spec = class_balance(train, test)
    counts: dict[str, list[int]] = {}
    for value in spec["data"]["values"]:
        counts.setdefault(value["set"], []).append(value["images"])
    assert counts == {"training (4)": [2, 1, 0, 0, 0, 0, 0, 0, 0, 1], "test (2)": [0, 2, 0, 0, 0, 0, 0, 0, 0, 0]}
    assert [v["class"] for v in spec["data"]["values"][:10]] == list(CLASS_NAMES)


def test_pixel_histogram_counts_the_same_pixels_on_either_scale() -> None:
    pixels = np.array([[0, 0, 255, 128, 3]], dtype=np.uint8)  # bins of 64: [0, 64) × 3, [128, 192), [192, 256)
    raw = pixel_histogram(pixels, bins=4)["data"]["values"]
    scaled = pixel_histogram(pixels, bins=4, divide_by=255)["data"]["values"]
    assert [(v["low"], v["high"], v["pixels"]) for v in raw] == [(0, 64, 3), (128, 192, 1), (192, 256, 1)]  # no 0s
    assert [v["pixels"] for v in scaled] == [3, 1, 1]
    assert [v["low"] for v in scaled] == pytest.approx([0, 128 / 255, 192 / 255])
