"""The "inside the network" core against independent references: Keras' own layer outputs,
hand computations on crafted cases, NumPy written out another way, and scikit-learn's PCA."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fmnist_lab import TrainConfig
from fmnist_lab.analysis import forward, inside
from fmnist_lab.config import ACTIVATIONS
from fmnist_lab.training.model import build_model

HIDDEN = (16, 8)
TOL = {"rtol": 1e-5, "atol": 1e-5}  # float32 sums of 784 terms in another order; values reach ~5


def keras_intermediates(model: Any, images: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Keras' own values: each layer's output, and each Dense layer's pre-activation from a copy of
    that layer with activation="linear", the same weights, fed Keras' output of the layer before."""
    import keras

    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    outputs = [np.asarray(o) for o in probe.predict(images, verbose=0)]  # flatten, hidden…, softmax
    pre = []
    for layer, x in zip(model.layers[1:], outputs[:-1], strict=True):
        linear = keras.layers.Dense.from_config({**layer.get_config(), "activation": "linear"})
        linear.build(x.shape)
        linear.set_weights(layer.get_weights())
        pre.append(np.asarray(linear(x)))
    return {"flat": outputs[:1], "z": pre, "a": outputs[1:]}


@pytest.fixture(scope="module", params=ACTIVATIONS)
def keras_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    activation = request.param
    model = build_model(TrainConfig(hidden_units=HIDDEN, activation=activation), fast=False)
    rng = np.random.default_rng(1)
    weights = [rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)  # non-zero biases, unlike a fresh model
    images = rng.random((23, 28, 28), dtype=np.float32)
    return {"activation": activation, "weights": weights, "images": images, **keras_intermediates(model, images)}


def test_trace_matches_keras_layer_by_layer(keras_case: dict[str, Any]) -> None:
    weights, z, a = keras_case["weights"], keras_case["z"], keras_case["a"]
    for i in (0, 7, 22):
        path = inside.trace(weights, keras_case["activation"], keras_case["images"][i], k=3)
        np.testing.assert_array_equal(path.inputs, keras_case["flat"][0][i])
        assert len(path.pre_activations) == len(path.activations) == len(HIDDEN)
        for layer in range(len(HIDDEN)):
            np.testing.assert_allclose(path.pre_activations[layer], z[layer][i], **TOL)
            np.testing.assert_allclose(path.activations[layer], a[layer][i], **TOL)
        np.testing.assert_allclose(path.logits, z[-1][i], **TOL)
        np.testing.assert_allclose(path.probabilities, a[-1][i], **TOL)
        assert path.predicted == int(np.argmax(a[-1][i]))


def test_contributions_are_the_winning_logits_largest_terms(keras_case: dict[str, Any]) -> None:
    weights, a = keras_case["weights"], keras_case["a"]
    path = inside.trace(weights, keras_case["activation"], keras_case["images"][3], k=3)
    terms = a[-2][3] * weights[-2][:, path.predicted]  # Keras' last hidden outputs × their weights to the winner
    expected = sorted(enumerate(terms), key=lambda t: -t[1])[:3]
    assert [j for j, _ in path.contributions] == [j for j, _ in expected]
    np.testing.assert_allclose([v for _, v in path.contributions], [v for _, v in expected], **TOL)
    # together with the rest and the bias they make the logit
    np.testing.assert_allclose(terms.sum() + weights[-1][path.predicted], path.logits[path.predicted], **TOL)


def test_activations_match_keras_across_chunks(keras_case: dict[str, Any]) -> None:
    hidden = inside.activations(keras_case["weights"], keras_case["activation"], keras_case["images"], chunk=5)
    assert [h.shape for h in hidden] == [(23, 16), (23, 8)] and all(h.dtype == np.float32 for h in hidden)
    for mine, theirs in zip(hidden, keras_case["a"][:-1], strict=True):
        np.testing.assert_allclose(mine, theirs, **TOL)


def test_neuron_pictures_are_the_weight_columns() -> None:
    kernel = np.random.default_rng(2).normal(size=(784, 12)).astype(np.float32)
    pictures = inside.neuron_pictures(kernel)
    assert pictures.shape == (12, 28, 28)
    for j in range(12):
        np.testing.assert_array_equal(pictures[j].ravel(), kernel[:, j])


def test_a_picture_pixel_is_the_weight_that_pixel_meets() -> None:
    """Light one pixel (row 3, col 20): neuron j's pre-activation rises by exactly picture[j, 3, 20]."""
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=s).astype(np.float32) for s in ((784, 6), (6,), (6, 10), (10,))]
    image = np.zeros((28, 28), dtype=np.float32)
    image[3, 20] = 1.0
    z = inside.trace(weights, "relu", image).pre_activations[0]
    np.testing.assert_allclose(z - weights[1], inside.neuron_pictures(weights[0])[:, 3, 20], rtol=1e-6)


def test_neuron_pictures_need_a_first_layer_kernel() -> None:
    with pytest.raises(ValueError, match=r"\(784, units\)"):
        inside.neuron_pictures(np.zeros((128, 10)))


def test_color_limit_is_a_percentile_of_the_weight_sizes() -> None:
    weights = np.random.default_rng(4).normal(size=(784, 32))
    sizes = np.sort(np.abs(weights).ravel())
    position = 0.99 * (sizes.size - 1)  # the 99th percentile, interpolated between its two neighbours
    low, share = int(position), position - int(position)
    assert inside.color_limit(weights) == pytest.approx(sizes[low] + share * (sizes[low + 1] - sizes[low]))
    assert inside.color_limit(weights, percentile=100) == pytest.approx(np.abs(weights).max())
    assert inside.color_limit(np.zeros((784, 3))) == 1.0  # an untrained zero layer still gets a scale


def test_class_means_by_hand() -> None:
    activations = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 4.0], [0.0, 6.0], [2.0, 8.0]])  # (5 images, 2 neurons)
    labels = np.array([0, 0, 1, 2, 2], dtype=np.uint8)
    means = inside.class_means(activations, labels, num_classes=4)
    expected = np.array([[2.0, 5.0, 1.0, np.nan], [1.0, 4.0, 7.0, np.nan]])  # (neurons, classes); class 3 has none
    np.testing.assert_array_equal(means, expected)


@pytest.mark.parametrize("labels", [np.array([0, 1, 10]), np.array([0, -1, 2])])
def test_class_means_refuse_labels_out_of_range(labels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="between 0 and 9"):
        inside.class_means(np.zeros((3, 2)), labels)


def test_separation_by_hand_and_by_the_within_class_sum() -> None:
    labels = np.repeat(np.arange(10), 4)
    rng = np.random.default_rng(5)
    tells_apart = labels.astype(float)  # constant within each class, different across: 1
    same_everywhere = np.tile([1.0, 2.0, 3.0, 4.0], 10)  # every class has the same mean: 0
    dead = np.zeros(40)  # never moves: 0, not NaN
    noisy = rng.normal(size=40) + labels * 0.3
    scores = inside.separation(np.stack([tells_apart, same_everywhere, dead, noisy], axis=1), labels)
    np.testing.assert_allclose(scores[:3], [1.0, 0.0, 0.0], atol=1e-12)
    within = sum(((noisy[labels == c] - noisy[labels == c].mean()) ** 2).sum() for c in range(10))
    assert scores[3] == pytest.approx(1 - within / ((noisy - noisy.mean()) ** 2).sum())  # eta² = 1 − within / total


def test_rank_by_norm_is_argsort_of_the_column_norms() -> None:
    kernel = np.random.default_rng(6).normal(size=(784, 50)).astype(np.float32)
    norms = np.sqrt((kernel.astype(np.float64) ** 2).sum(axis=0))
    np.testing.assert_array_equal(inside.rank_neurons(kernel), np.argsort(norms)[::-1])
    np.testing.assert_array_equal(inside.rank_neurons(kernel), np.argsort(np.linalg.norm(kernel, axis=0))[::-1])


def test_rank_by_separation() -> None:
    labels = np.repeat(np.arange(10), 5)
    rng = np.random.default_rng(7)
    activations = rng.normal(size=(50, 4)) + labels[:, None] * np.array([0.0, 2.0, 0.5, 8.0])  # neuron 3 best
    order = inside.rank_neurons(np.zeros((784, 4)), activations, labels, by="separation")
    assert order[0] == 3 and order[1] == 1
    np.testing.assert_array_equal(order, np.argsort(inside.separation(activations, labels))[::-1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"by": "size"}, "by must be one of norm, separation"), ({"by": "separation"}, "needs the activations")],
)
def test_rank_neurons_refuses(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inside.rank_neurons(np.zeros((784, 2)), **kwargs)


def test_top_images_strongest_first_ties_by_index() -> None:
    np.testing.assert_array_equal(inside.top_images(np.array([0.1, 0.9, 0.5, 0.9, 0.0]), k=3), [1, 3, 2])


def test_formula_names_the_largest_weights_by_pixel() -> None:
    kernel = np.full((784, 3), 0.01, dtype=np.float32)
    kernel[14 * 28 + 9, 1], kernel[3 * 28 + 20, 1], kernel[0, 1] = 0.31, -0.27, 0.2
    bias = np.array([0.0, -0.12, 0.0], dtype=np.float32)
    assert inside.formula(kernel, bias, 1, k=2) == "y = relu(0.31·x[14,9] − 0.27·x[3,20] + … + b=−0.12)"
    assert inside.formula(kernel, bias, 1, k=3, activation="tanh").startswith("y = tanh(0.31·x[14,9] − 0.27")
    assert inside.formula(-kernel, -bias, 1, k=1) == "y = relu(−0.31·x[14,9] + … + b=0.12)"


def test_layer_weights_count_hidden_layers_from_one() -> None:
    weights = [np.full(s, i, dtype=np.float32) for i, s in enumerate([(784, 6), (6,), (6, 4), (4,), (4, 10), (10,)])]
    kernel, bias = inside.layer_weights(weights, 2)
    assert kernel.shape == (6, 4) and bias.shape == (4,) and kernel[0, 0] == 2 and bias[0] == 3
    with pytest.raises(ValueError, match="between 1 and 2, got 3"):
        inside.layer_weights(weights, 3)


def correlated(n: int, units: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, units)) @ rng.normal(size=(units, units)) + 3.0).astype(np.float32)


@pytest.mark.parametrize(("n", "units"), [(300, 8), (40, 64)])
def test_pca_matches_scikit_learn(n: int, units: int) -> None:
    from sklearn.decomposition import PCA

    data = correlated(n, units, seed=n)
    coords, ratio = inside.pca_2d(data)
    pca = PCA(n_components=2, svd_solver="full").fit(data.astype(np.float64))
    theirs = pca.transform(data.astype(np.float64))
    signs = np.sign((coords * theirs).sum(axis=0))  # components are defined up to sign
    np.testing.assert_allclose(coords, theirs * signs, rtol=1e-6, atol=1e-8 * np.abs(theirs).max())
    np.testing.assert_allclose(ratio, pca.explained_variance_ratio_, rtol=1e-8)
    # our sign: each component's largest-|loading| entry is positive
    loadings = pca.components_ * signs[:, None]
    assert all(row[np.argmax(np.abs(row))] > 0 for row in loadings)


def test_pca_is_deterministic_and_survives_a_dead_layer() -> None:
    data = correlated(100, 6, seed=8)
    np.testing.assert_array_equal(inside.pca_2d(data)[0], inside.pca_2d(data.copy())[0])
    coords, ratio = inside.pca_2d(np.zeros((10, 4)))
    np.testing.assert_array_equal(coords, np.zeros((10, 2)))
    np.testing.assert_array_equal(ratio, [0.0, 0.0])
    with pytest.raises(ValueError, match="at least 2 images and 2 units"):
        inside.pca_2d(np.zeros((10, 1)))


def test_predict_is_the_last_layer_of_layers() -> None:
    rng = np.random.default_rng(9)
    weights = [rng.normal(size=s).astype(np.float32) for s in ((784, 5), (5,), (5, 10), (10,))]
    images = rng.random((4, 28, 28), dtype=np.float32)
    outputs = forward.layers(weights, "sigmoid", images)
    assert [z.shape for z, _ in outputs] == [(4, 5), (4, 10)]
    np.testing.assert_array_equal(forward.predict(weights, "sigmoid", images), outputs[-1][1])
