"""The explanations against Keras (its logits, its gradients, its answers) and against hand-computed cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import explain, forward
from fmnist_lab.training.data import prepare
from fmnist_lab.training.model import build_model
from tests.conftest import make_dataset


def keras_model(hidden_units: tuple[int, ...], activation: str = "relu", seed: int = 0) -> tuple[Any, list[np.ndarray]]:
    """A lab model with random weights (biases too) and those weights."""
    model = build_model(TrainConfig(hidden_units=hidden_units, activation=activation), fast=False)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=1 / np.sqrt(w.shape[0]), size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    return model, weights


def with_activations(model: Any, hidden: str | None = None, output: str = "linear") -> Any:
    """A copy of ``model`` built by Keras from its config with other activations (e.g. logits out), same weights."""
    import keras

    config = model.get_config()
    dense = [layer for layer in config["layers"] if layer["class_name"] == "Dense"]
    for layer in dense[:-1]:
        layer["config"]["activation"] = hidden or layer["config"]["activation"]
    dense[-1]["config"]["activation"] = output
    copy = keras.Sequential.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def sample_images(n: int = 8, seed: int = 3) -> np.ndarray:
    return make_dataset(n_train=10, n_test=n, seed=seed).x_test  # (n, 28, 28) uint8


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, str]:
    """A real two-hidden-layer relu run trained on the synthetic data set."""
    from fmnist_lab.training.train import train_run

    store = RunStore(tmp_path_factory.mktemp("explain") / "runs")
    run = store.create(TrainConfig(hidden_units=(32, 16), epochs=3))
    train_run(store, run.id, dataset=make_dataset())
    return store, run.id


def saved_model(store: RunStore, run_id: str) -> Any:
    import keras

    return keras.saving.load_model(store.model_path(run_id), safe_mode=True)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("hidden_units", [(16,), (24, 12)])
def test_templates_and_bias_terms_give_keras_logits(hidden_units: tuple[int, ...], normalize: bool) -> None:
    model, weights = keras_model(hidden_units)
    images = sample_images()
    expected = with_activations(model).predict(prepare(images, normalize), verbose=0)  # (n, 10) logits
    for image, logits in zip(images, expected, strict=True):
        d = explain.decompose(weights, "relu", explain.network_input(image, normalize))
        np.testing.assert_allclose(d.contributions.sum(axis=0) + d.bias_terms, logits, rtol=1e-5, atol=1e-5)
        x = explain.network_input(image, normalize)
        np.testing.assert_allclose(x @ d.templates + d.bias_terms, logits, rtol=1e-5, atol=1e-5)


def test_contribution_pictures_are_the_templates_times_the_image() -> None:
    _, weights = keras_model((16, 8))
    image = sample_images(1)[0]
    d = explain.decompose(weights, "relu", explain.network_input(image, True))
    pred, other = d.predicted, d.runner_up
    np.testing.assert_allclose(d.contribution(pred), d.template(pred) * image.astype(np.float32) / np.float32(255))
    np.testing.assert_allclose(d.contribution(pred, other), d.contribution(pred) - d.contribution(other), atol=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_curved_activations_have_no_exact_split(activation: str) -> None:
    _, weights = keras_model((8,), activation)
    with pytest.raises(explain.NotPiecewiseLinear, match="only for relu"):
        explain.decompose(weights, activation, np.zeros(784))


def test_integrated_gradients_are_complete_on_a_trained_run(trained: tuple[RunStore, str]) -> None:
    store, run_id = trained
    weights = store.weights(run_id)
    for image in make_dataset().x_test[:10]:
        x = explain.network_input(image, True)
        logits = explain.logits_of(weights, "relu", np.stack([x, np.zeros(784)]))
        c = int(np.argmax(logits[0]))
        ig = explain.integrated_gradients(weights, "relu", x, c)
        assert ig.difference == pytest.approx(logits[0, c] - logits[1, c])
        assert abs(ig.attributions.sum() - (logits[0, c] - logits[1, c])) <= 0.01 * abs(logits[0, c] - logits[1, c])
        assert ig.completeness_error < 0.01


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_integrated_gradients_on_smooth_networks_converge(activation: str) -> None:
    _, weights = keras_model((16, 8), activation)
    x = explain.network_input(sample_images(1)[0], True)
    coarse = explain.integrated_gradients(weights, activation, x, 3, steps=4, rule="riemann")
    fine = explain.integrated_gradients(weights, activation, x, 3, steps=256)
    assert fine.completeness_error < 1e-4 and fine.completeness_error < coarse.completeness_error


def gradient_tape(model: Any, x: np.ndarray, c: int) -> np.ndarray:
    import tensorflow as tf

    inputs = tf.constant(x.reshape(1, 28, 28), dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        output = model(inputs, training=False)[0, c]
    return tape.gradient(output, inputs).numpy().reshape(784)


def test_gradients_agree_with_gradient_tape_on_the_saved_model(trained: tuple[RunStore, str]) -> None:
    store, run_id = trained
    model, weights = saved_model(store, run_id), store.weights(run_id)
    x = explain.network_input(make_dataset().x_test[0], True)
    for c in (0, 4, 9):
        probability = explain.gradient(weights, "relu", x, c, of="probability")
        np.testing.assert_allclose(probability, gradient_tape(model, x, c), rtol=1e-3, atol=1e-6)
        logit = explain.gradient(weights, "relu", x, c)
        np.testing.assert_allclose(logit, gradient_tape(with_activations(model), x, c), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_gradients_agree_with_gradient_tape_for_curved_activations(activation: str) -> None:
    model, weights = keras_model((16, 8), activation)
    x = explain.network_input(sample_images(1)[0], True)
    np.testing.assert_allclose(
        explain.gradient(weights, activation, x, 2), gradient_tape(with_activations(model), x, 2), rtol=1e-4, atol=1e-6
    )


def test_occlusion_matches_a_hand_computed_case() -> None:
    """One relu neuron sums the top-left 4×4 square; logit 0 is that neuron, the others 0."""
    kernel = np.zeros((784, 1), np.float32)
    kernel[[r * 28 + c for r in range(4) for c in range(4)], 0] = 1.0
    weights = [kernel, np.zeros(1, np.float32), np.eye(1, 10, dtype=np.float32), np.zeros(10, np.float32)]
    image = np.zeros((28, 28))
    image[:4, :4] = 1.0  # the neuron sees 16; grey (0.5) over the square leaves it 8
    drops = explain.occlusion(weights, "relu", image.ravel(), 0, fill=0.5)
    expected = np.zeros((7, 7))
    expected[0, 0] = np.exp(16) / (np.exp(16) + 9) - np.exp(8) / (np.exp(8) + 9)
    np.testing.assert_allclose(drops, expected, atol=1e-12)
    assert explain.upscale(drops).shape == (28, 28) and explain.upscale(drops)[3, 3] == drops[0, 0]


def test_flip_moves_numpy_and_keras_to_the_runner_up(trained: tuple[RunStore, str]) -> None:
    store, run_id = trained
    model, weights = saved_model(store, run_id), store.weights(run_id)
    images = make_dataset().x_test[:6]
    for image in images:
        before = explain.decompose(weights, "relu", explain.network_input(image, True))
        flipped = explain.flip(weights, "relu", image, normalize=True)
        assert flipped.flipped and flipped.target == before.runner_up and 0 < len(flipped.pixels) < 784
        changed = np.argwhere(flipped.image != image)
        assert sorted(map(tuple, changed)) == sorted((r, c) for r, c, _, _ in flipped.pixels)
        assert forward.predict(weights, "relu", prepare(flipped.image[None], True))[0].argmax() == before.runner_up
        keras_answer = model.predict(prepare(flipped.image[None], True), verbose=0)[0].argmax()
        assert keras_answer == before.runner_up


def test_relu_zeros_against_a_direct_count(trained: tuple[RunStore, str]) -> None:
    store, run_id = trained
    weights = store.weights(run_id)
    dataset = make_dataset()
    x = explain.network_input(dataset.x_test, True)
    hidden = [a for _, a in forward.layers(weights, "relu", prepare(dataset.x_test, True))[:-1]]
    fires = explain.active(weights, "relu", x, chunk=64)  # several chunks
    for layer, a in zip(fires, hidden, strict=True):
        summary = explain.zeros(layer, dataset.y_test)
        assert summary.dead.sum() == sum(1 for j in range(a.shape[1]) if np.all(a[:, j] == 0))
        for image in (0, 7, 150):
            assert summary.per_image[image] == np.count_nonzero(a[image]) / a.shape[1]
        for c in range(10):
            rows = [np.count_nonzero(a[i]) / a.shape[1] for i in range(len(a)) if dataset.y_test[i] == c]
            assert summary.per_class[c] == pytest.approx(np.mean(rows))


def test_zeros_of_an_absent_class_is_nan_and_dead_share_counts() -> None:
    fires = np.array([[True, False, False], [True, True, False]])
    summary = explain.zeros(fires, np.array([1, 1]))
    assert summary.dead.tolist() == [False, False, True] and summary.dead_share == pytest.approx(1 / 3)
    assert np.isnan(summary.per_class[0]) and summary.per_class[1] == pytest.approx(0.5)


def test_without_relu_is_keras_with_identity_activations() -> None:
    model, weights = keras_model((16, 8))
    images = sample_images(4)
    expected = with_activations(model, hidden="linear", output="softmax").predict(prepare(images, True), verbose=0)
    for image, probabilities in zip(images, expected, strict=True):
        got = explain.without_relu(weights, explain.network_input(image, True))
        np.testing.assert_allclose(got, probabilities, atol=1e-5)


def test_explain_summary_adds_up() -> None:
    _, weights = keras_model((24, 12))
    result = explain.explain(weights, "relu", True, sample_images(1)[0]).summary()
    logits = np.array(result["logits"])
    np.testing.assert_allclose(np.add(result["contributions"], result["bias_terms"]), logits, atol=1e-9)
    assert result["predicted"] == int(logits.argmax()) and 0 <= result["ig_completeness_error"]


def test_explain_for_tanh_has_no_contributions() -> None:
    _, weights = keras_model((8,), "tanh")
    result = explain.explain(weights, "tanh", False, sample_images(1)[0])
    assert result.decomposition is None and result.summary()["contributions"] is None
    assert result.saliency.shape == (784,) and result.occlusion.shape == (7, 7)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda w: explain.integrated_gradients(w, "relu", np.zeros(784), 0, steps=0), "at least 1"),
        (lambda w: explain.integrated_gradients(w, "relu", np.zeros(784), 0, rule="simpson"), "trapezoid"),
        (lambda w: explain.occlusion(w, "relu", np.zeros(784), 0, fill=0.5, patch=5), "must divide 28"),
        (lambda w: explain.gradient(w, "relu", np.zeros(784), 0, of="loss"), "logit"),
        (lambda w: explain.logits_of(w, "swish", np.zeros((1, 784))), "unknown activation"),
        (lambda w: explain.logits_of(w[:3], "relu", np.zeros((1, 784))), "kernel and bias pairs"),
        (lambda w: explain.explain(w, "relu", True, np.zeros((28, 27))), "28×28"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call: Any, message: str) -> None:
    _, weights = keras_model((4,))
    with pytest.raises(ValueError, match=message):
        call(weights)


def test_trained_fixture_stores_two_layers(trained: tuple[RunStore, str]) -> None:
    store, run_id = trained
    assert [w.shape for w in store.weights(run_id)[0::2]] == [(784, 32), (32, 16), (16, 10)]


def test_painted_lays_the_drawing_over_the_picture() -> None:
    base = sample_images(1)[0]
    layer = np.zeros((280, 280, 4), np.uint8)  # nothing drawn: transparent
    assert np.array_equal(explain.painted(base, layer), base)
    layer[20:30, 50:60] = (255, 255, 255, 255)  # image pixel (2, 5) fully covered in white
    layer[100:110, 0:10] = (0, 0, 0, 255)  # (10, 0) erased to black
    layer[200:210, 200:210, 3] = 128  # (20, 20) half-transparent black: half-way to 0
    got = explain.painted(base, layer)
    assert got[2, 5] == 255 and got[10, 0] == 0
    assert got[20, 20] == round(base[20, 20] * (1 - 128 / 255))
    others = np.ones((28, 28), bool)
    others[[2, 10, 20], [5, 0, 20]] = False
    assert np.array_equal(got[others], base[others])


def test_painted_takes_an_opaque_layer_as_the_whole_picture() -> None:
    picture = sample_images(2)[1]
    layer = np.dstack([np.kron(picture, np.ones((8, 8), np.uint8))] * 3 + [np.full((224, 224), 255, np.uint8)])
    assert np.array_equal(explain.painted(sample_images(1)[0], layer), picture)
    odd = np.full((300, 290, 4), 200, np.uint8)  # a canvas not a multiple of 28: opaque gray 200
    odd[..., 3] = 255
    assert np.array_equal(explain.painted(picture, odd), np.full((28, 28), 200))
    with pytest.raises(ValueError, match="RGBA drawing"):
        explain.painted(picture, layer[..., :3])


def test_integrated_gradients_add_steps_until_complete() -> None:
    """One relu neuron that switches on at 50.3 % of the way from black: a coarse grid misses the kink."""
    kernel = np.full((784, 1), 1 / 784, np.float32)
    weights = [kernel, np.array([-0.503], np.float32), np.eye(1, 10, dtype=np.float32), np.zeros(10, np.float32)]
    x = np.ones(784)
    coarse = explain.integrated_gradients(weights, "relu", x, 0, steps=4)
    assert coarse.difference == pytest.approx(0.497, abs=1e-6) and coarse.completeness_error > 0.01
    refined = explain.integrated_gradients_to(weights, "relu", x, 0, target=1e-3, steps=4)
    assert refined.completeness_error < 1e-3
    assert refined.attributions.sum() == pytest.approx(0.497, rel=1e-3)
