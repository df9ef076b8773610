"""Bias and mitigations: exact counts, repeatable seeds, scikit-learn's class weights, hand-shifted images."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from fmnist_lab.training import bias


def skewed_labels(seed: int = 0) -> np.ndarray:
    """(1,000,) uint8 shuffled labels: 100 of each class, but class 9 has 55 and class 3 has 145."""
    counts = [100, 100, 100, 145, 100, 100, 100, 100, 100, 55]
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(10, dtype=np.uint8), counts))


def blob(top: int, left: int) -> np.ndarray:
    """A (28, 28) uint8 image, zero but for a lopsided 3x4 block of distinct values at (top, left)."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[top : top + 3, left : left + 4] = np.arange(1, 13, dtype=np.uint8).reshape(3, 4) * 20
    return image


def rolled_zero_filled(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """np.roll, then zero the rows and columns that wrapped round: a shift with zeros shifted in."""
    out = np.roll(image, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    if dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    if dx < 0:
        out[:, dx:] = 0
    return out


# --- keep_class_shares ---


@pytest.mark.parametrize(
    ("share", "count", "kept"),
    [(0.1, 100, 10), (0.05, 55, 3), (0.5, 5, 2), (0.7, 5, 4), (0.01, 55, 1), (0.0, 55, 0), (1.0, 55, 55), (0.3, 0, 0)],
)
def test_kept_count_rounds_half_to_even_with_a_floor_of_one(share: float, count: int, kept: int) -> None:
    assert bias.kept_count(share, count) == kept  # 55 × 0.05 = 2.75 → 3; 5 × 0.5 = 2.5 → 2; 55 × 0.01 → 1, not 0


def test_keep_class_shares_keeps_exactly_the_asked_number_and_all_of_the_rest() -> None:
    labels = skewed_labels()
    kept = bias.keep_class_shares(labels, {9: 0.2, 3: 0.5, 0: 0.0}, seed=1)
    counts = np.bincount(labels[kept], minlength=10)
    assert counts.tolist() == [0, 100, 100, 72, 100, 100, 100, 100, 100, 11]  # 145 × .5 = 72.5 → 72; 55 × .2 = 11
    assert np.all(np.diff(kept) > 0)  # order preserved
    untouched = np.isin(labels, [1, 2, 4, 5, 6, 7, 8])
    assert set(np.flatnonzero(untouched)) <= set(kept.tolist())


def test_keep_class_shares_is_repeatable_and_seeded() -> None:
    labels = skewed_labels()
    first = bias.keep_class_shares(labels, {9: 0.2}, seed=1)
    assert np.array_equal(first, bias.keep_class_shares(labels, {9: 0.2}, seed=1))
    assert not np.array_equal(first, bias.keep_class_shares(labels, {9: 0.2}, seed=2))


def test_one_classs_choice_ignores_the_others_and_smaller_shares_nest() -> None:
    labels = skewed_labels()
    alone = bias.keep_class_shares(labels, {9: 0.2}, seed=3)
    with_another = bias.keep_class_shares(labels, {3: 0.1, 9: 0.2}, seed=3)
    nines = lambda kept: set(kept[labels[kept] == 9].tolist())  # noqa: E731
    assert nines(alone) == nines(with_another)
    assert nines(bias.keep_class_shares(labels, {9: 0.1}, seed=3)) < nines(alone)


@pytest.mark.parametrize("shares", [{9: 1.5}, {9: -0.1}, {10: 0.5}, {-1: 0.5}])
def test_keep_class_shares_refuses_bad_settings(shares: dict[int, float]) -> None:
    with pytest.raises(ValueError):
        bias.keep_class_shares(skewed_labels(), shares, seed=0)


# --- add_label_noise ---


def test_label_noise_changes_exactly_the_asked_fraction_of_that_class_only() -> None:
    labels = skewed_labels()
    noisy = bias.add_label_noise(labels, {3: 0.2, 9: 0.5}, seed=4)
    changed = noisy != labels
    assert noisy.dtype == labels.dtype and noisy.shape == labels.shape
    assert np.sum(changed & (labels == 3)) == 29  # round(145 × 0.2)
    assert np.sum(changed & (labels == 9)) == 28  # round(55 × 0.5) = round(27.5): half to even
    assert not np.any(changed & ~np.isin(labels, [3, 9]))
    assert labels.tolist() == skewed_labels().tolist()  # the input is left alone


def test_label_noise_never_keeps_the_class_and_reaches_all_nine_others() -> None:
    labels = np.zeros(9000, dtype=np.uint8)
    labels[:4500] = 4
    noisy = bias.add_label_noise(labels, {4: 1.0}, seed=5)
    assert not np.any(noisy[:4500] == 4) and np.array_equal(noisy[4500:], labels[4500:])
    counts = np.bincount(noisy[:4500], minlength=10)
    assert counts[4] == 0 and np.all(np.delete(counts, 4) > 400)  # 500 each expected: uniform over nine


def test_label_noise_is_repeatable_and_seeded() -> None:
    labels = skewed_labels()
    noisy = bias.add_label_noise(labels, {3: 0.3}, seed=6)
    assert np.array_equal(noisy, bias.add_label_noise(labels, {3: 0.3}, seed=6))
    assert not np.array_equal(noisy, bias.add_label_noise(labels, {3: 0.3}, seed=7))


# --- class weights ---


def test_class_weights_equal_scikit_learns_balanced_weights() -> None:
    labels = skewed_labels()
    expected = compute_class_weight("balanced", classes=np.arange(10), y=labels)
    weights = bias.class_weights(labels)
    assert list(weights) == list(range(10)) and all(type(w) is float for w in weights.values())
    np.testing.assert_allclose(list(weights.values()), expected)
    assert weights[9] == pytest.approx(1000 / (10 * 55))


def test_class_weights_leave_out_an_empty_class_and_average_one_per_image() -> None:
    labels = skewed_labels()[bias.keep_class_shares(skewed_labels(), {9: 0.0}, seed=0)]
    weights = bias.class_weights(labels)
    assert 9 not in weights
    np.testing.assert_allclose(list(weights.values()), compute_class_weight("balanced", classes=np.arange(9), y=labels))
    assert np.mean([weights[int(c)] for c in labels]) == pytest.approx(1.0)


# --- oversampling and augmentation ---


def test_oversample_brings_the_starved_class_to_the_others_mean() -> None:
    labels = skewed_labels()
    indices = bias.oversample(labels, {9}, seed=8)
    target = round((8 * 100 + 145) / 9)  # 105
    assert bias.oversample_target(labels, {9}) == target
    assert np.bincount(labels[indices], minlength=10).tolist() == [100, 100, 100, 145, 100, 100, 100, 100, 100, target]
    assert np.array_equal(indices[: len(labels)], np.arange(len(labels)))  # every image once, extras after
    assert np.all(labels[indices[len(labels) :]] == 9)
    assert np.array_equal(indices, bias.oversample(labels, {9}, seed=8))
    assert not np.array_equal(indices, bias.oversample(labels, {9}, seed=9))


def test_oversample_leaves_a_class_above_target_alone_and_refuses_an_empty_one() -> None:
    labels = skewed_labels()
    assert len(bias.oversample(labels, {3}, seed=0)) == len(labels)  # 145 > mean of the rest
    with pytest.raises(ValueError, match="no images"):
        bias.oversample(labels[labels != 9], {9}, seed=0)


@pytest.mark.parametrize(("dy", "dx"), [(0, 0), (1, 0), (0, -2), (2, 2), (-2, 1), (-1, -1)])
def test_shift_equals_a_zero_filled_roll(dy: int, dx: int) -> None:
    inside, edge = blob(12, 10), blob(0, 24)  # one well inside, one touching the top and right edges
    shifted = bias.shift(np.stack([inside, edge]), np.array([dy, dy]), np.array([dx, dx]))
    assert np.array_equal(shifted[0], np.roll(inside, (dy, dx), axis=(0, 1)))  # nothing reaches an edge
    assert np.array_equal(shifted[1], rolled_zero_filled(edge, dy, dx))
    assert int(shifted[0].sum()) == int(inside.sum())


def test_a_shift_by_hand() -> None:
    image = np.zeros((4, 4), dtype=np.uint8)
    image[1, 1], image[3, 3] = 7, 9
    expected = np.zeros((4, 4), dtype=np.uint8)
    expected[2, 0] = 7  # one down, one left; the 9 leaves the bottom edge
    assert bias.shift(image[None], np.array([1]), np.array([-1]))[0].tolist() == expected.tolist()


def test_augment_keeps_shape_dtype_and_content_when_nothing_is_clipped() -> None:
    images = np.stack([blob(8 + i % 10, 6 + i % 12) for i in range(40)])  # every blob ≥ 2 pixels from an edge
    out = bias.augment(images, seed=10)
    assert out.dtype == np.uint8 and out.shape == images.shape
    assert out.sum(axis=(1, 2)).tolist() == images.sum(axis=(1, 2)).tolist()
    assert not np.array_equal(out, images) and np.array_equal(out, bias.augment(images, seed=10))
    assert not np.array_equal(out, bias.augment(images, seed=11))


def test_augment_is_a_shift_of_the_image_or_its_mirror() -> None:
    images = np.stack([blob(8, 6 + i % 15) for i in range(30)])
    out = bias.augment(images, seed=12)
    moves = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    mirrored = 0
    for image, new in zip(images, out, strict=True):
        plain = any(np.array_equal(new, np.roll(image, m, axis=(0, 1))) for m in moves)
        flipped = any(np.array_equal(new, np.roll(image[:, ::-1], m, axis=(0, 1))) for m in moves)
        assert plain or flipped  # the lopsided blob is never its own mirror
        mirrored += flipped
    assert 0 < mirrored < 30
    unflipped = bias.augment(images, seed=12, flip=False)
    assert all(
        any(np.array_equal(n, np.roll(i, m, axis=(0, 1))) for m in moves)
        for i, n in zip(images, unflipped, strict=True)
    )


def test_augmented_copies_reach_the_oversampling_target() -> None:
    labels = skewed_labels()
    images = np.stack([blob(8 + i % 10, 6 + i % 12) for i in range(len(labels))])
    new_images, new_labels = bias.augmented_copies(images, labels, {9}, seed=13)
    assert new_images.shape == (105 - 55, 28, 28) and new_images.dtype == np.uint8
    assert np.all(new_labels == 9) and new_labels.dtype == labels.dtype
    totals = np.bincount(np.concatenate([labels, new_labels]), minlength=10)
    assert totals[9] == bias.oversample_target(labels, {9}) == 105


def test_shift_refuses_more_than_two_pixels() -> None:
    with pytest.raises(ValueError, match="between -2 and 2"):
        bias.shift(np.zeros((1, 28, 28), dtype=np.uint8), np.array([3]), np.array([0]))
