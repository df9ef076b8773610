"""Sources of bias in the training set, and mitigations: pure functions of arrays and a seed.

Bias: ``keep_class_shares`` starves classes of images; ``add_label_noise`` mislabels some of
a class's images. Mitigations: ``class_weights`` (for Keras' ``fit(class_weight=...)``),
``oversample`` (repeat the starved images) and ``augmented_copies`` (new shifted, mirrored copies).

Every random choice draws from ``np.random.default_rng([seed, class, purpose])``: one class's
choice does not depend on which other classes are listed, or in what order.

Counts round with Python's ``round`` (half to even: 2.5 → 2, 3.5 → 4) of ``fraction * count``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from fmnist_lab.analysis.metrics import _check_classes
from fmnist_lab.config import NUM_CLASSES

MAX_SHIFT = 2  # pixels, each way, in augment
_KEEP, _NOISE, _OVERSAMPLE, _AUGMENT = range(4)  # purposes: separate random streams


def kept_count(share: float, count: int) -> int:
    """Images a class keeps: ``round(share * count)``, but at least 1 when ``share > 0`` and it has any.

    The floor of one keeps a starved class *present*; ``share = 0`` removes the class entirely.
    """
    kept = round(share * count)
    return max(kept, 1) if share > 0 and count > 0 else kept


def keep_class_shares(labels: np.ndarray, shares: Mapping[int, float], seed: int) -> np.ndarray:
    """Indices (ascending, int64) of the training images kept: ``kept_count`` of each listed
    class, chosen at random, and every image of the other classes.

    The same seed keeps the same images, and a smaller share keeps a subset of a larger one's.
    """
    labels = _labels(labels)
    keep = np.ones(len(labels), dtype=bool)
    for c, share in _checked(shares, "share").items():
        members = np.flatnonzero(labels == c)  # (count,) ascending
        chosen = _rng(seed, c, _KEEP).permutation(members)[: kept_count(share, len(members))]
        keep[members] = False
        keep[chosen] = True
    return np.flatnonzero(keep)


def add_label_noise(labels: np.ndarray, noise: Mapping[int, float], seed: int) -> np.ndarray:
    """A copy of ``labels`` with ``round(fraction * count)`` of each listed class's labels changed.

    Each changed label goes to one of the other ``NUM_CLASSES - 1`` classes, uniformly, never to
    its own. Images are chosen from the original labels, so no label is changed twice.
    """
    labels = _labels(labels)
    noisy = labels.copy()
    for c, fraction in _checked(noise, "noise fraction").items():
        members = np.flatnonzero(labels == c)
        rng = _rng(seed, c, _NOISE)
        chosen = rng.permutation(members)[: round(fraction * len(members))]
        others = rng.integers(0, NUM_CLASSES - 1, size=len(chosen))  # 0..8: the nine other classes
        noisy[chosen] = others + (others >= c)  # skip c itself
    return noisy


def class_weights(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> dict[int, float]:
    """Inverse-frequency weights ``n / (k * count_c)`` for each class with images, as Keras'
    ``fit(class_weight=...)`` takes them; equal to scikit-learn's ``compute_class_weight("balanced")``.

    ``k`` counts the classes present, so the weights average 1 over the training images and the
    loss keeps its scale; a class with no images has nothing to weigh and is left out.
    """
    counts = np.bincount(_labels(labels, num_classes), minlength=num_classes)  # (num_classes,) images per class
    present = np.flatnonzero(counts)
    return {int(c): float(counts.sum() / (len(present) * counts[c])) for c in present}


def oversample_target(labels: np.ndarray, classes: Collection[int]) -> int:
    """The count a starved class is brought up to: the rounded mean count of the other classes with images."""
    counts = np.bincount(_labels(labels), minlength=NUM_CLASSES)
    others = [counts[c] for c in range(NUM_CLASSES) if c not in classes and counts[c] > 0]
    if not others:
        raise ValueError("no other class has images, so there is no count to bring the starved classes up to")
    return round(float(np.mean(others)))


def oversample(labels: np.ndarray, classes: Collection[int], seed: int) -> np.ndarray:
    """Every index once, then extra indices of each of ``classes`` (drawn with replacement) until
    it reaches ``oversample_target``; a class already there gets none."""
    labels = _labels(labels)
    target = oversample_target(labels, classes)
    extras = [np.arange(len(labels))]
    for c in sorted(_check_class(c) for c in classes):
        members = np.flatnonzero(labels == c)
        if not len(members):
            raise ValueError(f"class {c} has no images to repeat")
        extras.append(_rng(seed, c, _OVERSAMPLE).choice(members, size=max(target - len(members), 0)))
    return np.concatenate(extras).astype(np.int64)


def shift(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Each image moved ``dy`` pixels down and ``dx`` right (negative: up, left), zeros shifted in.

    ``images`` (n, h, w); ``dy``, ``dx`` (n,) ints of at most ``MAX_SHIFT``. Content moved past an edge is lost.
    """
    images = np.asarray(images)
    dy, dx = np.asarray(dy, dtype=np.intp), np.asarray(dx, dtype=np.intp)
    if np.abs(dy).max(initial=0) > MAX_SHIFT or np.abs(dx).max(initial=0) > MAX_SHIFT:
        raise ValueError(f"shifts must lie between -{MAX_SHIFT} and {MAX_SHIFT} pixels")
    padded = np.pad(images, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT)))  # (n, h + 4, w + 4)
    rows = MAX_SHIFT - dy[:, None] + np.arange(images.shape[1])  # (n, h): source row of each output row
    cols = MAX_SHIFT - dx[:, None] + np.arange(images.shape[2])  # (n, w)
    return padded[np.arange(len(images))[:, None, None], rows[:, :, None], cols[:, None, :]]


def augment(images: np.ndarray, seed: int, flip: bool = True) -> np.ndarray:
    """New images (same shape and dtype): each shifted by -2..2 pixels each way, zero-filled, and
    mirrored left-right with probability 1/2 when ``flip``.

    A mirror keeps every Fashion-MNIST label's meaning: clothes and bags are roughly symmetric,
    and a mirrored sandal, sneaker or ankle boot is still one, only facing the other way
    (the data set's shoes all face one way, so those mirrors are views the test set lacks).
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be (n, height, width), got shape {images.shape}")
    rng = np.random.default_rng([seed, _AUGMENT])
    dy, dx = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(2, len(images)))
    mirrored = rng.random(len(images)) < 0.5 if flip else np.zeros(len(images), dtype=bool)
    images = np.where(mirrored[:, None, None], images[:, :, ::-1], images)
    return shift(images, dy, dx)


def augmented_copies(
    images: np.ndarray, labels: np.ndarray, classes: Collection[int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Extra training images (m, h, w) and their labels (m,) that bring each of ``classes`` to
    ``oversample_target``: the images ``oversample`` would repeat, augmented instead."""
    labels = _labels(labels)
    extra = oversample(labels, classes, seed)[len(labels) :]  # (m,) indices beyond the first copy
    return augment(np.asarray(images)[extra], seed), labels[extra]


def _labels(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    return _check_classes("labels", labels, num_classes).astype(np.asarray(labels).dtype)


def _checked(values: Mapping[int, float], what: str) -> dict[int, float]:
    """Class -> fraction, checked, in class order."""
    for c, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"each {what} must lie between 0 and 1, got {value} for class {_check_class(c)}")
    return {_check_class(c): values[c] for c in sorted(values)}


def _check_class(c: int) -> int:
    if not 0 <= c < NUM_CLASSES:
        raise ValueError(f"classes are numbered 0 to {NUM_CLASSES - 1}, got {c}")
    return int(c)


def _rng(seed: int, c: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(c), purpose])
