"""The plain Keras code behind a run, in the course's style: a script and a notebook.

``script(config)`` tells one story top to bottom, as a keras-io example does: Setup, Prepare the data,
Build the model, Train, Evaluate, Predict. Each section is written from the settings it uses
(``CODE_FOR``); a setting at its default adds nothing beyond the course's baseline.

The data comes from ``keras.datasets.fashion_mnist.load_data()``, which reads Keras' cache
(``$KERAS_HOME/datasets/fashion-mnist``) when the files are there. Class shares, label noise and
the mitigations are written out in NumPy with the lab's seeded random streams (``bias.py``), so they
keep, mislabel and copy the same images as the lab. Training itself is not bit-identical: the lab
shuffles batches its own way (``train.training_data``), the script lets ``fit`` shuffle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmnist_lab.config import CLASS_NAMES, NUM_CLASSES, TrainConfig
from fmnist_lab.store import atomic
from fmnist_lab.training.bias import MAX_SHIFT

OPTIMIZER_CLASSES = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}


@dataclass(frozen=True)
class Section:
    """One step of the story: a heading, a sentence or two on why, and its code."""

    title: str
    text: str
    code: str


def _setup(config: TrainConfig) -> Section:
    code = f"import numpy as np\nimport keras\n\nSEED = {config.seed}\n"
    code += "keras.utils.set_random_seed(SEED)  # same seed: same start weights and order"
    return Section("Setup", "Keras, NumPy, and a seed so the run can be repeated.", code)


def _data(config: TrainConfig) -> Section:
    lines = [
        "(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()",
        f"class_names = {list(CLASS_NAMES)!r}",
    ]
    text = "60,000 training and 10,000 test images, 28×28 pixels of 0–255, in 10 classes."
    if config.train_samples is not None:
        lines.append(f"x_train, y_train = x_train[:{config.train_samples}], y_train[:{config.train_samples}]")
    if config.test_samples is not None:
        lines.append(f"x_test, y_test = x_test[:{config.test_samples}], y_test[:{config.test_samples}]")
    if config.normalize:
        lines += ["# Scale images to the [0, 1] range", "x_train, x_test = x_train / 255.0, x_test / 255.0"]
        text += " Dividing by 255 scales every pixel to 0–1."
    else:
        lines.append("# Pixels stay 0–255: no ÷255")
    lines += _holdout(config)
    return Section("Prepare the data", text, "\n".join(lines))


def _holdout(config: TrainConfig) -> list[str]:
    if config.holdout == "test":
        return ["x_val, y_val = x_test, y_test  # scored after each epoch"]
    if config.holdout == "none":
        return ["# nothing is scored after each epoch"]
    return [
        f"# Hold out the last {config.holdout_fraction:.0%} of the training images, scored after each epoch",
        f"cut = len(x_train) - max(1, round(len(x_train) * {config.holdout_fraction!r}))",
        "x_train, x_val, y_train, y_val = x_train[:cut], x_train[cut:], y_train[:cut], y_train[cut:]",
    ]


def _bias(config: TrainConfig) -> Section | None:
    blocks = [block for block in (_shares(config), _noise(config), _balance(config)) if block]
    if not blocks:
        return None
    text = (
        "Bias in the training images, and what makes up for it. Each random choice draws from "
        "`np.random.default_rng([SEED, class, purpose])`, as the lab does, so the same images are kept and changed."
    )
    return Section("Bias in the training set", text, "\n\n".join(blocks))


def _shares(config: TrainConfig) -> str:
    if not config.class_shares:
        return ""
    shares = _class_dict(config.class_shares)
    return f"""# Keep only a share of some classes' training images, chosen at random
class_shares = {shares}
keep = np.ones(len(y_train), dtype=bool)
for c, share in class_shares.items():
    members = np.flatnonzero(y_train == c)
    count = max(round(share * len(members)), 1) if share > 0 else 0  # a starved class keeps at least one
    keep[members] = False
    keep[np.random.default_rng([SEED, c, 0]).permutation(members)[:count]] = True
x_train, y_train = x_train[keep], y_train[keep]"""


def _noise(config: TrainConfig) -> str:
    if not config.label_noise:
        return ""
    noise = _class_dict(config.label_noise)
    return f"""# Give a share of some classes' images a wrong label, one of the nine other classes
label_noise = {noise}
noisy = y_train.copy()
for c, fraction in label_noise.items():
    members = np.flatnonzero(y_train == c)
    rng = np.random.default_rng([SEED, c, 1])
    chosen = rng.permutation(members)[: round(fraction * len(members))]
    others = rng.integers(0, {NUM_CLASSES - 1}, size=len(chosen))
    noisy[chosen] = others + (others >= c)  # skip the class itself
y_train = noisy"""


def _balance(config: TrainConfig) -> str:
    if config.balance == "class-weights":
        return f"""# Weigh each image inversely to its class's count in the loss
counts = np.bincount(y_train, minlength={NUM_CLASSES})
present = np.count_nonzero(counts)  # classes with images
class_weight = {{c: len(y_train) / (present * counts[c]) for c in range({NUM_CLASSES}) if counts[c]}}"""
    starved = sorted(c for c, share in config.class_shares if share > 0)
    if config.balance == "none":
        return ""
    if not starved:
        return f"# balance={config.balance}: no class is starved, so no copies are added"
    copies = _OVERSAMPLE if config.balance == "oversample" else _AUGMENT
    return _EXTRA.format(starved=starved, classes=NUM_CLASSES) + copies.format(
        shift=MAX_SHIFT, shift_end=MAX_SHIFT + 1, size=28 + MAX_SHIFT
    )


_EXTRA = """# Bring each starved class up to the other classes' mean count
starved = {starved}
counts = np.bincount(y_train, minlength={classes})
target = round(float(np.mean([counts[c] for c in range({classes}) if c not in starved and counts[c] > 0])))
extra = np.concatenate(
    [np.random.default_rng([SEED, c, 2]).choice(np.flatnonzero(y_train == c), size=max(target - counts[c], 0))
     for c in starved]
).astype(int)
"""
_OVERSAMPLE = """# Repeat those images
x_train, y_train = np.concatenate([x_train, x_train[extra]]), np.concatenate([y_train, y_train[extra]])"""
_AUGMENT = """# Add shifted (up to {shift} pixels each way) and, half of them, mirrored copies of those images
rng = np.random.default_rng([SEED, 3])
dy, dx = rng.integers(-{shift}, {shift_end}, size=(2, len(extra)))
mirrored = rng.random(len(extra)) < 0.5
copies = np.where(mirrored[:, None, None], x_train[extra][:, :, ::-1], x_train[extra])
padded = np.pad(copies, ((0, 0), ({shift}, {shift}), ({shift}, {shift})))
copies = np.stack([p[{shift} - a : {size} - a, {shift} - b : {size} - b] for p, a, b in zip(padded, dy, dx)])
x_train, y_train = np.concatenate([x_train, copies]), np.concatenate([y_train, y_train[extra]])"""


def _class_dict(pairs: tuple[tuple[int, float], ...]) -> str:
    """``{6: 0.1}  # Shirt``-style literal, one class per entry, in class order."""
    entries = ", ".join(f"{c}: {fraction!r}" for c, fraction in sorted(pairs))
    names = ", ".join(CLASS_NAMES[c] for c, _ in sorted(pairs))
    return f"{{{entries}}}  # {names}"


def _model(config: TrainConfig) -> Section:
    penalty = ", kernel_regularizer=penalty" if config.l1 or config.l2 else ""
    layers = ["    keras.Input(shape=(28, 28)),", "    keras.layers.Flatten(),"]
    for units in config.hidden_units:
        layers.append(f'    keras.layers.Dense({units}, activation="{config.activation}"{penalty}),')
        if config.dropout:
            layers.append(f"    keras.layers.Dropout({config.dropout!r}),")
    layers.append(f'    keras.layers.Dense({NUM_CLASSES}, activation="softmax"{penalty}),')
    lines = [f"penalty = keras.regularizers.L1L2(l1={config.l1!r}, l2={config.l2!r})  # on every Dense kernel"]
    lines = (lines if penalty else []) + ["model = keras.Sequential([", *layers, "])", _compile(config)]
    lines.append('print("parameters:", model.count_params())')
    text = "Flatten turns each 28×28 image into 784 numbers; each Dense layer is one line; softmax gives 10 chances."
    return Section("Build the model", text, "\n".join(lines))


def _compile(config: TrainConfig) -> str:
    options = [f"learning_rate={config.learning_rate!r}"] if config.learning_rate is not None else []
    options += [f"momentum={config.momentum!r}"] if config.momentum else []
    optimizer = f'"{config.optimizer}"'
    if options:
        optimizer = f"keras.optimizers.{OPTIMIZER_CLASSES[config.optimizer]}({', '.join(options)})"
    arguments = [f"optimizer={optimizer}", 'loss="sparse_categorical_crossentropy"', 'metrics=["accuracy"]']
    return "model.compile(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _callbacks(config: TrainConfig) -> Section | None:
    blocks, names = [], []
    if config.stop_loss is not None:
        blocks.append(_GOAL.format(name="StopAtLoss", what="loss", key="loss", op="<", goal=config.stop_loss))
        names.append("StopAtLoss()")
    if config.stop_accuracy is not None:
        goal = config.stop_accuracy
        blocks.append(_GOAL.format(name="StopAtAccuracy", what="accuracy", key="accuracy", op=">=", goal=goal))
        names.append("StopAtAccuracy()")
    if config.early_stopping is not None:
        names.append(
            f'keras.callbacks.EarlyStopping(monitor="val_loss", patience={config.early_stopping}, '
            "restore_best_weights=True)"
        )
    if not names:
        return None
    blocks.append("callbacks = [\n" + "".join(f"    {name},\n" for name in names) + "]")
    text = "Callbacks look at the scores after each epoch and may end training early, like the course's `myCallback`."
    return Section("Callbacks", text, "\n\n\n".join(blocks))


_GOAL = '''class {name}(keras.callbacks.Callback):
    """End training after the first epoch whose training {what} is {op} {goal!r}."""

    def on_epoch_end(self, epoch, logs=None):
        if logs["{key}"] {op} {goal!r}:
            print(f"\\nReached {what} {{logs['{key}']:.3f}} {op} {goal!r}, so cancelling training!")
            self.model.stop_training = True'''


def _train(config: TrainConfig) -> Section:
    arguments = ["x_train", "y_train", f"epochs={config.epochs}", f"batch_size={config.batch_size}"]
    if config.holdout != "none":
        arguments.append("validation_data=(x_val, y_val)")
    if _callbacks(config) is not None:
        arguments.append("callbacks=callbacks")
    if config.balance == "class-weights":
        arguments.append("class_weight=class_weight")
    code = "history = model.fit(\n" + "".join(f"    {a},\n" for a in arguments) + ")"
    return Section("Train", "`fit` shows the model every training image once per epoch.", code)


def _evaluate(config: TrainConfig) -> Section:
    code = 'test_loss, test_accuracy = model.evaluate(x_test, y_test)\nprint("test accuracy:", test_accuracy)'
    return Section("Evaluate", "Score images the model never trained on.", code)


def _predict(config: TrainConfig) -> Section:
    code = """probabilities = model.predict(x_test)  # (n, 10): one softmax vector per image
print(np.round(probabilities[0], 3), "sums to", probabilities[0].sum())
print("first test image: predicted", class_names[probabilities[0].argmax()], "· true", class_names[y_test[0]])"""
    text = "`predict` gives each image 10 numbers that add up to 1; the largest is the model's answer."
    return Section("Predict", text, code)


SectionWriter = Callable[[TrainConfig], Section | None]
SECTIONS: tuple[SectionWriter, ...] = (_setup, _data, _bias, _model, _callbacks, _train, _evaluate, _predict)
CODE_FOR: dict[str, SectionWriter] = {  # setting → the section that writes it; a new setting must be added
    "seed": _setup,
    "train_samples": _data,
    "test_samples": _data,
    "normalize": _data,
    "holdout": _data,
    "holdout_fraction": _data,
    "class_shares": _bias,
    "label_noise": _bias,
    "balance": _bias,
    "hidden_units": _model,
    "activation": _model,
    "dropout": _model,
    "l1": _model,
    "l2": _model,
    "optimizer": _model,
    "learning_rate": _model,
    "momentum": _model,
    "stop_loss": _callbacks,
    "stop_accuracy": _callbacks,
    "early_stopping": _callbacks,
    "epochs": _train,
    "batch_size": _train,
}
NO_CODE: frozenset[str] = frozenset()  # settings that change nothing in the code (none yet)


def sections(config: TrainConfig) -> list[Section]:
    """The story's sections for ``config``, skipping those it does not need."""
    return [section for write in SECTIONS if (section := write(config)) is not None]


def header(config: TrainConfig, run_id: str | None = None) -> str:
    where = f"run {run_id}: " if run_id else ""
    return f"Fashion-MNIST with a dense network ({where}{config.summary()})"


def script(config: TrainConfig, run_id: str | None = None) -> str:
    """A runnable Python script in the keras-io examples' layout that trains ``config``."""
    parts = [f'"""\nTitle: {header(config, run_id)}\nDescription: the fmnist-lab run as plain Keras code.\n"""']
    for section in sections(config):
        parts.append(f'"""\n## {section.title}\n\n{section.text}\n"""\n\n{section.code}')
    return "\n\n".join(parts) + "\n"


def notebook(config: TrainConfig, run_id: str | None = None) -> Any:  # nbformat.NotebookNode
    """The same story as a Jupyter notebook: a markdown cell and a code cell per section."""
    import nbformat

    cells = [nbformat.v4.new_markdown_cell(f"# {header(config, run_id)}\n\nThe fmnist-lab run as plain Keras code.")]
    for section in sections(config):
        cells.append(nbformat.v4.new_markdown_cell(f"## {section.title}\n\n{section.text}"))
        cells.append(nbformat.v4.new_code_cell(section.code))
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})


def notebook_text(config: TrainConfig, run_id: str | None = None) -> str:
    import nbformat

    return nbformat.writes(notebook(config, run_id))


def write_notebook(config: TrainConfig, path: Path | str, run_id: str | None = None) -> None:
    """Write the notebook to ``path`` atomically (temp name, then rename)."""
    atomic.write_text(Path(path), notebook_text(config, run_id))
