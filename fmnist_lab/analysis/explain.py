"""Why the network gave its answer for one image: exact pixel contributions, saliency, IG, occlusion.

For a relu network the explanation is exact. Once the image fixes which hidden neurons are active
(``z > 0``), every relu is either the identity or zero, so each logit is a linear function of the
input pixels::

    logits = x @ (W1 D1 W2 D2 … W_out) + (b1 D1 W2 D2 … W_out + b2 D2 … W_out + … + b_out)
           = x @ templates + bias_terms

with ``D_l`` the diagonal 0/1 mask of layer ``l``'s active neurons. Column ``c`` of ``templates``,
laid out 28×28, is class ``c``'s effective template; ``x * templates[:, c]`` are its pixel
contributions, and they plus ``bias_terms[c]`` add up to logit ``c`` exactly. ``x`` is the network's
input: the pixels divided by 255 when the run was trained normalised, the raw 0–255 values if not.

Sigmoid and tanh are curved everywhere, so no such split exists: the functions that need it raise
``NotPiecewiseLinear``. Gradient saliency, Integrated Gradients and occlusion work for every activation.

All in NumPy (float64) from a run's stored weights (kernel, bias, kernel, bias …), like ``forward``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fmnist_lab.analysis import forward, metrics
from fmnist_lab.config import NUM_CLASSES

SIDE = 28  # images are SIDE × SIDE pixels, flattened row by row
PIXELS = SIDE * SIDE
MAX_PIXEL = 255.0  # raw pixel values run from 0 to this
IG_STEPS = 128  # Integrated Gradients' path steps to begin with: relu's kinks can need more
IG_TARGET = 0.01  # explain() doubles the steps until the completeness error is below this …
IG_MOST_STEPS = 4096  # … or the steps reach this
PATCH = 4  # occlusion's square patch, pixels a side
GREY = 127.5  # occlusion's fill, a raw pixel value (mid-grey)
CHUNK = 2048  # images per matrix product when counting relu's zeros over a test set
DERIVATIVES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {  # f'(z), given z and a = f(z)
    "relu": lambda z, a: (z > 0).astype(np.float64),  # 0 at z = 0, as TensorFlow's relu gradient
    "sigmoid": lambda z, a: a * (1.0 - a),
    "tanh": lambda z, a: 1.0 - a * a,
}


class NotPiecewiseLinear(ValueError):
    """The exact template decomposition (and relu's zeros) needs relu hidden layers."""


@dataclass(frozen=True, eq=False)
class Decomposition:
    """One input's logits split exactly into pixel contributions and bias terms (relu networks)."""

    inputs: np.ndarray  # (784,) float64, the network's input (÷255 when normalised)
    masks: tuple[np.ndarray, ...]  # per hidden layer, (units,) bool: the neuron is active (z > 0)
    templates: np.ndarray  # (784, 10) each class's effective template over the network's input
    bias_terms: np.ndarray  # (10,) what the biases add to each logit
    logits: np.ndarray  # (10,) the forward pass's logits
    probabilities: np.ndarray  # (10,) softmax(logits)

    @property
    def contributions(self) -> np.ndarray:
        """(784, 10): pixel i's share ``inputs[i] · templates[i, c]`` of logit c."""
        return self.inputs[:, None] * self.templates

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.logits))

    @property
    def runner_up(self) -> int:
        return int(np.argsort(-self.logits, kind="stable")[1])

    def template(self, c: int) -> np.ndarray:
        """Class ``c``'s effective template as a (28, 28) picture."""
        return self.templates[:, c].reshape(SIDE, SIDE)

    def contribution(self, c: int, versus: int | None = None) -> np.ndarray:
        """Class ``c``'s pixel contributions (28, 28); minus class ``versus``'s when given."""
        column = self.templates[:, c] - (0.0 if versus is None else self.templates[:, versus])
        return (self.inputs * column).reshape(SIDE, SIDE)


def network_input(image: np.ndarray, normalize: bool) -> np.ndarray:
    """Raw pixels (…, 28, 28) 0–255 as the network reads them, flattened: (…, 784) float64.

    The same float32 division as training (``data.normalize``), then widened, so the logits match Keras'.
    """
    x = np.asarray(image, dtype=np.float32)
    if normalize:
        x = x / np.float32(MAX_PIXEL)
    return x.reshape(*x.shape[:-2], PIXELS).astype(np.float64)


def pairs(weights: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) per Dense layer, float64; the last is the output layer."""
    if len(weights) < 2 or len(weights) % 2:
        raise ValueError(f"expected kernel and bias pairs, got {len(weights)} arrays")
    return [
        (np.asarray(k, np.float64), np.asarray(b, np.float64))
        for k, b in zip(weights[0::2], weights[1::2], strict=True)
    ]


def widened(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The weights as float64, once: every function here widens float32 weights on each call otherwise."""
    return [np.asarray(w, dtype=np.float64) for w in weights]


def hidden_layers(
    weights: Sequence[np.ndarray], activation: str, x: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Each hidden layer's (z, a) for inputs ``x`` (n, 784), and the logits (n, 10); float64."""
    if activation not in forward.ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(forward.ACTIVATIONS)}")
    layers, a = [], np.asarray(x, dtype=np.float64)
    *hidden, (out_kernel, out_bias) = pairs(weights)
    for kernel, bias in hidden:
        z = a @ kernel + bias
        a = forward.ACTIVATIONS[activation](z)
        layers.append((z, a))
    return layers, a @ out_kernel + out_bias


def logits_of(weights: Sequence[np.ndarray], activation: str, x: np.ndarray) -> np.ndarray:
    """Logits (n, 10) for network inputs ``x`` (n, 784)."""
    return hidden_layers(weights, activation, x)[1]


def decompose(weights: Sequence[np.ndarray], activation: str, x: np.ndarray) -> Decomposition:
    """Templates and bias terms of one network input ``x`` (784,): ``x @ templates + bias_terms == logits``."""
    _require_relu(activation)
    x = np.asarray(x, dtype=np.float64).reshape(PIXELS)
    layers, logits = hidden_layers(weights, activation, x[None])
    masks = tuple(z[0] > 0 for z, _ in layers)
    *hidden, (out_kernel, out_bias) = pairs(weights)
    templates, bias_terms = out_kernel, out_bias.copy()  # from the output layer backwards
    for (kernel, bias), mask in zip(reversed(hidden), reversed(masks), strict=True):
        passed = templates * mask[:, None]  # (units, 10): inactive neurons pass nothing on
        bias_terms = bias_terms + bias @ passed
        templates = kernel @ passed
    return Decomposition(x, masks, templates, bias_terms, logits[0], metrics.softmax(logits[0]))


def _require_relu(activation: str) -> None:
    if activation != "relu":
        raise NotPiecewiseLinear(
            f"The exact split into templates and bias terms holds only for relu networks; this one uses "
            f"{activation}, which is curved everywhere. Use the gradient, Integrated Gradients or occlusion."
        )


def logit_gradients(weights: Sequence[np.ndarray], activation: str, x: np.ndarray, c: int) -> np.ndarray:
    """d logit_c / d x for each row of ``x`` (n, 784): (n, 784), by backpropagation."""
    layers, _ = hidden_layers(weights, activation, x)
    *hidden, (out_kernel, _) = pairs(weights)
    grad = np.broadcast_to(out_kernel[:, c], (len(x), out_kernel.shape[0]))  # (n, units of the last layer)
    for (kernel, _), (z, a) in zip(reversed(hidden), reversed(layers), strict=True):
        grad = (grad * DERIVATIVES[activation](z, a)) @ kernel.T
    return grad


def gradient(weights: Sequence[np.ndarray], activation: str, x: np.ndarray, c: int, of: str = "logit") -> np.ndarray:
    """Saliency: d logit_c / d x, or d p_c / d x with ``of="probability"``, for one input ``x`` (784,)."""
    x = np.asarray(x, dtype=np.float64).reshape(1, PIXELS)
    if of == "logit":
        return logit_gradients(weights, activation, x, c)[0]
    if of != "probability":
        raise ValueError(f'of must be "logit" or "probability", got {of!r}')
    p = metrics.softmax(logits_of(weights, activation, x)[0])
    jacobian = np.stack([logit_gradients(weights, activation, x, k)[0] for k in range(len(p))], axis=1)
    return p[c] * (jacobian[:, c] - jacobian @ p)  # softmax's derivative: p_c (δ_ck − p_k)


@dataclass(frozen=True, eq=False)
class IntegratedGradients:
    attributions: np.ndarray  # (784,) over the network's input
    target: int  # the class whose logit is explained
    difference: float  # logit(x) − logit(black)
    completeness_error: float  # |Σ attributions − difference| / |difference| (0 when both are 0)


def integrated_gradients(
    weights: Sequence[np.ndarray],
    activation: str,
    x: np.ndarray,
    c: int,
    steps: int = IG_STEPS,
    rule: str = "trapezoid",
) -> IntegratedGradients:
    """Attributions of logit ``c`` along the straight path from a black image to ``x`` (784,).

    ``x · mean(gradient along the path)``; ``rule`` "trapezoid" (steps + 1 points) or "riemann" (midpoints).
    """
    alphas, w = path_points(steps, rule)
    x = np.asarray(x, dtype=np.float64).reshape(PIXELS)
    grads = logit_gradients(weights, activation, alphas[:, None] * x, c)  # (points, 784)
    attributions = x * (w @ grads)
    ends = logits_of(weights, activation, np.stack([np.zeros(PIXELS), x]))[:, c]
    difference = float(ends[1] - ends[0])
    gap = abs(float(attributions.sum()) - difference)
    error = gap / abs(difference) if difference else (0.0 if gap == 0 else float("inf"))
    return IntegratedGradients(attributions, c, difference, error)


def path_points(steps: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Where along the path (0 = black, 1 = the image) to take the gradient, and each point's weight."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if rule == "riemann":  # midpoints
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule != "trapezoid":
        raise ValueError(f'rule must be "trapezoid" or "riemann", got {rule!r}')
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2  # the two ends count half
    return np.linspace(0.0, 1.0, steps + 1), weights


def integrated_gradients_to(
    weights: Sequence[np.ndarray],
    activation: str,
    x: np.ndarray,
    c: int,
    target: float = IG_TARGET,
    steps: int = IG_STEPS,
    most: int = IG_MOST_STEPS,
) -> IntegratedGradients:
    """``integrated_gradients`` with the steps doubled until the completeness error is below ``target``.

    A relu network's gradient jumps where a neuron switches on along the path, and a fixed grid can land
    badly near such a jump: on a trained 128-64 run, 6 % of test images need more than 128 steps for 1 %.
    """
    result = integrated_gradients(weights, activation, x, c, steps)
    while result.completeness_error >= target and steps < most:
        steps *= 2
        result = integrated_gradients(weights, activation, x, c, steps)
    return result


def occlusion(
    weights: Sequence[np.ndarray], activation: str, x: np.ndarray, c: int, fill: float, patch: int = PATCH
) -> np.ndarray:
    """How much p_c drops when each ``patch``×``patch`` square of ``x`` (784,) is set to ``fill``:
    (28 / patch, 28 / patch); positive where hiding the square lowers the class's probability.

    ``fill`` is in the network's input units (``GREY / 255`` for a normalised run).
    """
    if patch < 1 or SIDE % patch:
        raise ValueError(f"patch must divide {SIDE}, got {patch}")
    image = np.asarray(x, dtype=np.float64).reshape(SIDE, SIDE)
    cells = SIDE // patch
    covered = np.tile(image, (cells * cells, 1, 1))  # (cells², 28, 28), one square hidden in each
    for n in range(cells * cells):
        row, col = divmod(n, cells)
        covered[n, row * patch : (row + 1) * patch, col * patch : (col + 1) * patch] = fill
    logits = logits_of(weights, activation, np.concatenate([image.reshape(1, PIXELS), covered.reshape(-1, PIXELS)]))
    p = metrics.softmax(logits)[:, c]
    return (p[0] - p[1:]).reshape(cells, cells)


def upscale(cells: np.ndarray, side: int = SIDE) -> np.ndarray:
    """A coarse map (k, k) repeated to (side, side), each cell a square."""
    factor = side // cells.shape[0]
    return np.kron(cells, np.ones((factor, factor)))


@dataclass(frozen=True, eq=False)
class Flip:
    """The pixels a greedy search changed to move the answer to the runner-up."""

    pixels: tuple[tuple[int, int, int, int], ...]  # (row, col, old value, new value), raw 0–255, in order
    image: np.ndarray  # (28, 28) uint8, the changed picture
    target: int  # the runner-up the search aimed for
    predicted: int  # the answer for the changed picture
    flipped: bool  # predicted == target


def flip(
    weights: Sequence[np.ndarray], activation: str, image: np.ndarray, normalize: bool, limit: int = PIXELS
) -> Flip:
    """Change one pixel at a time (erase it to 0 or paint it to 255, whichever helps more), always the one whose
    contribution moves the runner-up's logit furthest past the strongest other class, until the runner-up wins.

    Greedy, so small but not always the smallest set; the real forward pass decides each step. ``image`` is
    (28, 28) raw 0–255.
    """
    _require_relu(activation)
    raw = np.asarray(image, dtype=np.float64).reshape(PIXELS).copy()
    scale = 1.0 / MAX_PIXEL if normalize else 1.0
    first = decompose(weights, activation, network_input(raw.reshape(SIDE, SIDE), normalize))
    target, changed = first.runner_up, list[tuple[int, int, int, int]]()
    touched = np.zeros(PIXELS, dtype=bool)
    while len(changed) < limit:
        now = decompose(weights, activation, network_input(raw.reshape(SIDE, SIDE), normalize))
        if now.predicted == target:
            break
        rival = int(np.argmax(np.where(np.arange(NUM_CLASSES) == target, -np.inf, now.logits)))
        towards = (now.templates[:, target] - now.templates[:, rival]) * scale  # margin gained per raw unit
        erase, paint = -raw * towards, (MAX_PIXEL - raw) * towards  # margin gained by each change
        gains = np.where(touched, -np.inf, np.maximum(erase, paint))
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break  # no single pixel moves it further: give up
        new = 0.0 if erase[best] >= paint[best] else MAX_PIXEL
        changed.append((best // SIDE, best % SIDE, int(raw[best]), int(new)))
        raw[best], touched[best] = new, True
    final = int(np.argmax(logits_of(weights, activation, network_input(raw.reshape(1, SIDE, SIDE), normalize))[0]))
    return Flip(tuple(changed), raw.reshape(SIDE, SIDE).astype(np.uint8), target, final, final == target)


# -- relu's zeros --------------------------------------------------------------------------------------


def active(weights: Sequence[np.ndarray], activation: str, x: np.ndarray, chunk: int = CHUNK) -> list[np.ndarray]:
    """Per hidden layer, which neurons fire (z > 0) for each input: (n, units) bool; ``x`` is (n, 784)."""
    _require_relu(activation)
    x = np.asarray(x)
    units = [np.shape(kernel)[1] for kernel in weights[0:-2:2]]
    out = [np.empty((len(x), n), dtype=bool) for n in units]
    for start in range(0, len(x), chunk):
        layers, _ = hidden_layers(weights, activation, x[start : start + chunk])
        for array, (z, _) in zip(out, layers, strict=True):
            array[start : start + chunk] = z > 0
    return out


@dataclass(frozen=True, eq=False)
class Zeros:
    """One layer's relu zeros over a set of images."""

    dead: np.ndarray  # (units,) bool: never fires on any image
    per_image: np.ndarray  # (n,) share of the layer's neurons that fire for each image
    per_class: np.ndarray  # (10,) mean of per_image over each true class's images; NaN for an absent class

    @property
    def dead_share(self) -> float:
        return float(self.dead.mean()) if self.dead.size else 0.0


def zeros(fires: np.ndarray, labels: np.ndarray, num_classes: int = NUM_CLASSES) -> Zeros:
    """Summarise one layer's firing pattern ``fires`` (n, units) bool over images with true ``labels`` (n,)."""
    fires, labels = np.asarray(fires, dtype=bool), np.asarray(labels)
    if fires.ndim != 2 or labels.shape != fires.shape[:1]:
        raise ValueError(f"fires (n, units) and labels (n,) disagree: {fires.shape}, {labels.shape}")
    per_image = fires.mean(axis=1) if fires.shape[1] else np.zeros(len(fires))
    counts = np.bincount(labels, minlength=num_classes)[:num_classes]
    sums = np.bincount(labels, weights=per_image, minlength=num_classes)[:num_classes]
    per_class = np.divide(sums, counts, out=np.full(num_classes, np.nan), where=counts > 0)
    return Zeros(np.logical_not(fires.any(axis=0)), per_image, per_class)


def without_relu(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Softmax (10,) for one input ``x`` (784,) if relu kept the negatives (identity in every hidden layer)."""
    a = np.asarray(x, dtype=np.float64).reshape(1, PIXELS)
    for kernel, bias in pairs(weights):
        a = a @ kernel + bias
    return metrics.softmax(a[0])


# -- everything for one picture ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Explanation:
    """One raw picture's explanation, as the page and the command line show it."""

    inputs: np.ndarray  # (784,) the network's input
    logits: np.ndarray  # (10,)
    probabilities: np.ndarray  # (10,)
    predicted: int
    decomposition: Decomposition | None  # None unless the hidden layers are relu
    saliency: np.ndarray  # (784,) d logit_predicted / d input
    ig: IntegratedGradients  # of the predicted class's logit
    occlusion: np.ndarray  # (28/PATCH, 28/PATCH) drop of the predicted probability

    def summary(self) -> dict[str, Any]:
        """The command line's JSON: logits, and per class the pixels' and the biases' shares of them."""
        d = self.decomposition
        return {
            "predicted": self.predicted,
            "logits": self.logits.tolist(),
            "contributions": None if d is None else d.contributions.sum(axis=0).tolist(),
            "bias_terms": None if d is None else d.bias_terms.tolist(),
            "ig_completeness_error": self.ig.completeness_error,
        }


def explain(
    weights: Sequence[np.ndarray], activation: str, normalize: bool, image: np.ndarray, steps: int = IG_STEPS
) -> Explanation:
    """Every explanation of the raw picture ``image`` (28, 28), 0–255, for the network ``weights``."""
    if np.shape(image) != (SIDE, SIDE):
        raise ValueError(f"expected a {SIDE}×{SIDE} picture, got shape {np.shape(image)}")
    x = network_input(image, normalize)
    logits = logits_of(weights, activation, x[None])[0]
    c = int(np.argmax(logits))
    fill = GREY / MAX_PIXEL if normalize else GREY
    return Explanation(
        inputs=x,
        logits=logits,
        probabilities=metrics.softmax(logits),
        predicted=c,
        decomposition=decompose(weights, activation, x) if activation == "relu" else None,
        saliency=gradient(weights, activation, x, c),
        ig=integrated_gradients_to(weights, activation, x, c, steps=steps),
        occlusion=occlusion(weights, activation, x, c, fill),
    )


def painted(base: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """``base`` (28, 28) uint8 with a drawing layer ``rgba`` (H, W, 4) uint8 laid over it, back at 28×28.

    Each of the 28×28 pixels takes the mean over its block of the drawing: ``base · (1 − ᾱ) + mean(gray · α)``,
    so a block half covered by a white stroke moves half-way to white. A layer that already holds the picture
    (opaque everywhere) simply replaces it.
    """
    rgba = np.asarray(rgba, dtype=np.float64)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or min(rgba.shape[:2]) < SIDE:
        raise ValueError(f"expected an RGBA drawing (H, W, 4) at least {SIDE} a side, got {rgba.shape}")
    alpha = rgba[..., 3] / MAX_PIXEL
    cover, paint = _block_means(alpha), _block_means(rgba[..., :3].mean(axis=2) * alpha)
    mixed = np.asarray(base, dtype=np.float64) * (1.0 - cover) + paint
    return np.clip(np.round(mixed), 0, MAX_PIXEL).astype(np.uint8)


def _block_means(values: np.ndarray) -> np.ndarray:
    """A (H, W) layer averaged onto the 28×28 grid: (28, 28); H and W need not be multiples of 28."""
    height, width = values.shape
    if height % SIDE == 0 and width % SIDE == 0:  # the canvas's usual case: a plain reshape
        return values.reshape(SIDE, height // SIDE, SIDE, width // SIDE).mean(axis=(1, 3))
    cell = ((np.arange(height) * SIDE // height)[:, None] * SIDE + np.arange(width) * SIDE // width).ravel()
    sums = np.bincount(cell, values.ravel(), minlength=PIXELS)
    return (sums / np.bincount(cell, minlength=PIXELS)).reshape(SIDE, SIDE)
