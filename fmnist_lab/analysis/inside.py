"""Inside the trained network: one image's path through the layers, and what each neuron responds to.

Works on a run's stored ``weights.npz`` (kernel, bias, kernel, bias …, as ``model.get_weights()``
lists them) with NumPy alone, through ``forward.layers``, so the app server never imports TensorFlow.
A first-layer neuron computes ``f(x · W[:, j] + b[j])`` over the 784 pixels, so its 784 incoming
weights, laid out 28×28, picture what it looks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from fmnist_lab.analysis import forward
from fmnist_lab.config import NUM_CLASSES

SIDE = 28  # images are SIDE × SIDE pixels, flattened row by row
LIMIT_PERCENTILE = 99.0  # weight pictures' colour limit: this percentile of |w|, so a few outliers wash nothing out
CHUNK = 2048  # images per matrix product in activations(): 2048 × 1024 float32 is 8 MB per array
RANKINGS = ("norm", "separation")  # rank_neurons(by=…)


@dataclass(frozen=True, eq=False)
class Path:
    """One image's way through the network, every intermediate kept."""

    inputs: np.ndarray  # (784,) float32, the flattened image as the model sees it
    pre_activations: tuple[np.ndarray, ...]  # per hidden layer, (units,) z = x @ kernel + bias
    activations: tuple[np.ndarray, ...]  # per hidden layer, (units,) a = activation(z)
    logits: np.ndarray  # (10,) the output layer's z
    probabilities: np.ndarray  # (10,) softmax(logits), float64
    predicted: int  # argmax of probabilities
    contributions: tuple[tuple[int, float], ...]  # (neuron, a_last[j] · W_last[j, predicted]), largest first


def trace(weights: Sequence[np.ndarray], activation: str, image: np.ndarray, k: int = 5) -> Path:
    """Every intermediate of ``image`` (28, 28), already scaled as in training, and the ``k``
    last-hidden-layer neurons that add most to the winning class's logit."""
    outputs = forward.layers(weights, activation, np.asarray(image)[None])
    hidden = [(z[0], a[0]) for z, a in outputs[:-1]]
    logits, probabilities = outputs[-1][0][0], outputs[-1][1][0]
    inputs = np.asarray(image, dtype=np.float32).ravel()
    winner = int(np.argmax(probabilities))
    last = hidden[-1][1] if hidden else inputs  # what the output layer reads
    return Path(
        inputs=inputs,
        pre_activations=tuple(z for z, _ in hidden),
        activations=tuple(a for _, a in hidden),
        logits=logits,
        probabilities=probabilities,
        predicted=winner,
        contributions=contributions(last, weights[-2], winner, k),
    )


def contributions(last: np.ndarray, kernel: np.ndarray, target: int, k: int = 5) -> tuple[tuple[int, float], ...]:
    """The ``k`` largest terms ``last[j] · kernel[j, target]`` of class ``target``'s logit, as (j, term).

    Largest means most positive: the neurons that push hardest *towards* the class.
    """
    terms = np.asarray(last, dtype=np.float64) * kernel[:, target]  # (units,)
    order = np.argsort(-terms, kind="stable")[:k]
    return tuple((int(j), float(terms[j])) for j in order)


def activations(
    weights: Sequence[np.ndarray], activation: str, images: np.ndarray, chunk: int = CHUNK
) -> list[np.ndarray]:
    """Each hidden layer's outputs (n, units) float32 for ``images`` (n, 28, 28), ``chunk`` images at a time."""
    images = np.asarray(images)
    units = [np.shape(kernel)[1] for kernel in weights[0:-2:2]]
    out = [np.empty((len(images), n), dtype=np.float32) for n in units]
    for start in range(0, len(images), chunk):
        layers = forward.layers(weights, activation, images[start : start + chunk])
        for array, (_, a) in zip(out, layers[:-1], strict=True):
            array[start : start + chunk] = a
    return out


def neuron_pictures(kernel: np.ndarray) -> np.ndarray:
    """A first-layer kernel (784, N) as N pictures (N, 28, 28): picture j holds neuron j's incoming weights."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != SIDE * SIDE:
        raise ValueError(f"a first-layer kernel is ({SIDE * SIDE}, units), got {kernel.shape}")
    return kernel.T.reshape(-1, SIDE, SIDE)  # Flatten is row-major: input i is pixel (i // 28, i % 28)


def color_limit(weights: np.ndarray, percentile: float = LIMIT_PERCENTILE) -> float:
    """One symmetric colour range ±limit for all pictures: the ``percentile`` of |w| (1.0 if all are zero).

    Shared, so a darker red means a larger weight in every picture; values beyond it saturate.
    """
    limit = float(np.percentile(np.abs(weights), percentile)) if np.size(weights) else 0.0
    return limit if limit > 0 else 1.0


def shared_color_limit(kernels: Iterable[np.ndarray], percentile: float = LIMIT_PERCENTILE) -> float:
    """One colour range for every epoch of a run: the largest of the kernels' ``color_limit``s, so the
    pictures of early epochs are pale and the weights' growth shows as the colours deepen."""
    return max((color_limit(kernel, percentile) for kernel in kernels), default=1.0)


def class_means(activations: np.ndarray, labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Mean activation of each neuron over each true class's images: (units, classes); NaN for an absent class."""
    activations, labels = np.asarray(activations), np.asarray(labels)
    if activations.ndim != 2 or labels.shape != activations.shape[:1]:
        raise ValueError(f"activations (n, units) and labels (n,) disagree: {activations.shape}, {labels.shape}")
    if labels.size and not (0 <= labels.min() and labels.max() < num_classes):
        raise ValueError(f"labels must lie between 0 and {num_classes - 1}, found {labels.min()} to {labels.max()}")
    onehot = (labels[:, None] == np.arange(num_classes)).astype(np.float64)  # (n, classes)
    sums = onehot.T @ activations.astype(np.float64)  # (classes, units)
    counts = onehot.sum(axis=0)[:, None]
    means = np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)
    return means.T


def separation(activations: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How much each neuron's activation tells the classes apart, (units,) from 0 to 1.

    The share of its variance that lies between the class means (the ANOVA eta²):
    ``Σ_c n_c (mean_c − mean)² / Σ_i (a_i − mean)²``. 1: constant within each class, different
    across; 0: the same mean for every class. A neuron that never changes (dead) scores 0.
    """
    activations = np.asarray(activations, dtype=np.float64)
    means = class_means(activations, labels)  # (units, classes)
    counts = np.bincount(np.asarray(labels), minlength=means.shape[1])[: means.shape[1]]
    overall = activations.mean(axis=0)  # (units,)
    between = np.nansum(counts * (means - overall[:, None]) ** 2, axis=1)
    total = ((activations - overall) ** 2).sum(axis=0)
    return np.divide(between, total, out=np.zeros_like(total), where=total > 0)


def rank_neurons(
    kernel: np.ndarray, activations: np.ndarray | None = None, labels: np.ndarray | None = None, by: str = "norm"
) -> np.ndarray:
    """Neuron indices, highest score first (ties by index).

    ``by="norm"``: the L2 norm of the neuron's incoming weights (``kernel`` (inputs, units)).
    ``by="separation"``: ``separation(activations, labels)``; needs both.
    """
    if by not in RANKINGS:
        raise ValueError(f"by must be one of {', '.join(RANKINGS)}; got {by!r}")
    if by == "norm":
        scores = np.linalg.norm(np.asarray(kernel, dtype=np.float64), axis=0)
    elif activations is None or labels is None:
        raise ValueError('ranking by "separation" needs the activations and the labels')
    else:
        scores = separation(activations, labels)
    return np.argsort(-scores, kind="stable")


def top_images(activations_column: np.ndarray, k: int = 9) -> np.ndarray:
    """Indices of the ``k`` images that excite one neuron most, strongest first (ties by index)."""
    return np.argsort(-np.asarray(activations_column), kind="stable")[:k]


def formula(kernel: np.ndarray, bias: np.ndarray, j: int, k: int = 5, activation: str = "relu") -> str:
    """First-layer neuron ``j`` as a sum, its ``k`` largest weights (by size) named by pixel (row, col):
    ``y = relu(0.31·x[14,9] − 0.27·x[3,20] + … + b=−0.12)``."""
    column = np.asarray(kernel)[:, j]  # (784,) incoming weights
    order = np.argsort(-np.abs(column), kind="stable")[:k]
    terms = [f"{_signed(column[i], first=n == 0)}·x[{i // SIDE},{i % SIDE}]" for n, i in enumerate(order)]
    rest = " + …" if len(order) < len(column) else ""
    b = f"{float(np.asarray(bias)[j]):.2f}".replace("-", "−")
    return f"y = {activation}({''.join(terms)}{rest} + b={b})"


def _signed(value: float, first: bool) -> str:
    magnitude = f"{abs(float(value)):.2f}"
    if first:
        return magnitude if value >= 0 else f"−{magnitude}"
    return f" + {magnitude}" if value >= 0 else f" − {magnitude}"


def layer_weights(weights: Sequence[np.ndarray], layer: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden layer ``layer``'s (kernel (inputs, units), bias (units,)), counting from 1 like ``hidden_1``."""
    hidden = len(weights) // 2 - 1
    if not 1 <= layer <= hidden:
        raise ValueError(f"layer must be between 1 and {hidden}, got {layer}")
    return np.asarray(weights[2 * layer - 2]), np.asarray(weights[2 * layer - 1])


def pca_2d(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components: coordinates (n, 2) and explained variance ratio (2,).

    SVD of the centred data. Each component's sign is fixed so that its largest-|loading|
    entry is positive (as scikit-learn does), so the same activations always give the same map.
    """
    x = np.asarray(activations, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 2:
        raise ValueError(f"PCA to 2-D needs at least 2 images and 2 units, got shape {x.shape}")
    centred = x - x.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]  # (2, units)
    largest = components[np.arange(2), np.argmax(np.abs(components), axis=1)]
    components = components * np.where(largest < 0, -1.0, 1.0)[:, None]
    variance = singular**2
    total = variance.sum()
    ratio = variance[:2] / total if total > 0 else np.zeros(2)
    return centred @ components.T, ratio
