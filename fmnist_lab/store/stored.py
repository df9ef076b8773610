"""One validating loader per kind of file in a run folder.

Whatever is on disk (truncated, empty, another program's file, valid JSON of the wrong
shape, numbers out of range or not finite, nesting deep enough to overflow a parser,
arrays of the wrong shape or dtype) becomes a ``Damage`` naming the file and the fault,
and nothing else: no ``KeyError``, ``RecursionError`` or format error escapes to a page.
The checked values are plain Python or NumPy of known shapes, so the code that uses them
needs no checks of its own.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fmnist_lab.config import MAX_EPOCHS, NUM_CLASSES, TEST_SIZE, TrainConfig

STATES = ("queued", "running", "finished", "stopped", "failed")
MAX_JSON_BYTES = 4 * 2**20  # the largest JSON a run writes is its history: ~30 kB at 100 epochs
MAX_LOSS = 1e300  # any finite loss a diverging run records (float32 tops out near 3.4e38); infinity is stored as null
MAX_TEXT = 2000  # characters kept of a stored message (an error, a stop reason)
METRICS_NUMBERS = {  # key → (low, high); None values are allowed where the run had no such score
    "test_accuracy": (0.0, 1.0),
    "test_loss": (0.0, MAX_LOSS),
    "train_accuracy": (0.0, 1.0),
    "train_loss": (0.0, MAX_LOSS),
    "val_accuracy": (0.0, 1.0),
    "val_loss": (0.0, MAX_LOSS),
    "train_seconds": (0.0, 1e7),
    "seconds_per_epoch": (0.0, 1e7),  # wall clock
    "cpu_seconds_per_epoch": (0.0, 1e7),  # the training process's CPU time; absent in runs from before it
}
METRICS_COUNTS = {"epochs_run": MAX_EPOCHS, "parameters": 10**9, "test_samples": TEST_SIZE}
REQUIRED_METRICS = ("test_accuracy", "test_loss", "epochs_run", "stop_reason", "parameters", "train_seconds")
HISTORY_NUMBERS = ("loss", "accuracy", "val_loss", "val_accuracy")
ENGINES = (None, "vectorised", "keras")  # metrics.json's "engine" (training.engine)
MAX_LEARNER_LENGTH = 40  # characters of a learner's display name


class Damage(ValueError):
    """A stored file that cannot be used; the message names the file and what is wrong."""


class BadLearnerName(ValueError):
    """A display name that cannot be kept; the message says why, for the learner."""


def learner_name(text: object) -> str:
    """A learner's display name: 1 to 40 printable characters on one line, outer spaces trimmed."""
    if not isinstance(text, str):
        raise BadLearnerName("A name must be text.")
    name = text.strip()
    if not name:
        raise BadLearnerName("A name needs at least one visible character.")
    if not name.isprintable():
        raise BadLearnerName("A name can only hold printable characters (no line breaks, tabs or control codes).")
    if len(name) > MAX_LEARNER_LENGTH:
        raise BadLearnerName(f"A name has at most {MAX_LEARNER_LENGTH} characters (this one has {len(name)}).")
    return name


def read_json(path: Path) -> Any:
    """The JSON in ``path``; FileNotFoundError if absent, Damage for anything else wrong."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Damage(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_JSON_BYTES:
        raise Damage(f"{path.name}: larger than {MAX_JSON_BYTES // 2**20} MB")
    try:
        with _no_collection():
            return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise Damage(f"{path.name}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise Damage(f"{path.name}: not valid JSON ({str(exc)[:120]})") from None


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """The garbage collector paused: a deeply nested file takes the parser to the recursion limit, and a
    collection there would run other objects' finalizers with no stack left, so they would fail
    ("Exception ignored in ...") for this file's fault. Collections resume at the usual depth afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_info(data: Any, run_id: str) -> dict[str, Any]:
    """run.json: id, name, creation time (and ns), owner, the learner's display name (older runs: none), config."""
    info = _object("run.json", data)
    if info.get("id") != run_id:
        raise Damage("run.json: its id does not match the folder")
    try:
        config = TrainConfig.from_dict(info.get("config", {}))
    except (ValueError, TypeError) as exc:  # ConfigError is a ValueError
        raise Damage(f"run.json: the settings are not valid ({str(exc)[:200]})") from None
    created_ns = info.get("created_ns", 0)
    return {
        "name": _text("run.json", "name", info.get("name", run_id), 200) or run_id,
        "created": _text("run.json", "created", info.get("created", ""), 64),
        "owner": info["owner"] if isinstance(info.get("owner"), str) else None,
        "created_ns": created_ns if isinstance(created_ns, int) and not isinstance(created_ns, bool) else 0,
        "learner": _learner(info.get("learner")),
        "config": config,
    }


def _learner(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return learner_name(value)
    except BadLearnerName as exc:
        raise Damage(f"run.json: learner: {exc}") from None


def status(data: Any) -> dict[str, Any]:
    """status.json: a known state, and texts where texts belong."""
    checked = _object("status.json", data)
    if checked.get("state") not in STATES:
        raise Damage(f"status.json: the state must be one of {', '.join(STATES)}")
    for key in ("error", "stop_reason"):
        if key in checked:
            checked[key] = _text("status.json", key, checked[key], MAX_TEXT)
    return checked


def metrics(data: Any) -> dict[str, Any]:
    """metrics.json: the final scores, each a finite number in its range."""
    checked = _object("metrics.json", data)
    if missing := [key for key in REQUIRED_METRICS if checked.get(key) is None]:
        raise Damage(f"metrics.json: missing {', '.join(missing)}")
    for key, (low, high) in METRICS_NUMBERS.items():
        if checked.get(key) is not None:
            checked[key] = _number("metrics.json", key, checked[key], low, high)
    for key, high in METRICS_COUNTS.items():
        if key in checked:
            checked[key] = _count("metrics.json", key, checked[key], high)
    checked["stop_reason"] = _text("metrics.json", "stop_reason", checked["stop_reason"], MAX_TEXT)
    if checked.get("engine") not in ENGINES:  # what trained the run: shown, never needed, so a bad one is dropped
        checked.pop("engine", None)
    return checked


def history(data: Any) -> list[dict[str, Any]]:
    """history.json: one record per epoch, in order, with numbers or nulls."""
    if not isinstance(data, list) or len(data) > MAX_EPOCHS:
        raise Damage(f"history.json: not a list of at most {MAX_EPOCHS} epochs")
    records = []
    for position, record in enumerate(data, start=1):
        where = f"history.json, epoch {position}"
        record = _object(where, record)
        if record.get("epoch") != position:
            raise Damage(f"{where}: the epochs are not numbered 1, 2, 3…")
        checked: dict[str, Any] = {
            "epoch": position,
            "fraction": _number(where, "fraction", record.get("fraction", 1.0), 0, 1),
        }
        for key in HISTORY_NUMBERS:
            value = record.get(key)
            checked[key] = None if value is None else _number(where, key, value, 0.0, MAX_LOSS)
        checked["seconds"] = _number(where, "seconds", record.get("seconds", 0.0), 0.0, 1e7)
        cpu = record.get("cpu_seconds")  # absent in runs trained before it was recorded
        checked["cpu_seconds"] = None if cpu is None else _number(where, "cpu_seconds", cpu, 0.0, 1e7)
        records.append(checked)
    return records


def progress(data: Any) -> dict[str, Any]:
    """progress.json: where training is now; the live view draws straight from it."""
    checked = _object("progress.json", data)
    if not checked:
        return {}
    epochs = _count("progress.json", "epochs", checked.get("epochs"), MAX_EPOCHS, low=1)
    steps = _count("progress.json", "steps", checked.get("steps"), 10**7, low=1)
    out: dict[str, Any] = {
        "epoch": _count("progress.json", "epoch", checked.get("epoch"), epochs, low=1),
        "epochs": epochs,
        "batch": _count("progress.json", "batch", checked.get("batch"), steps),
        "steps": steps,
        "epoch_seconds": _number("progress.json", "epoch_seconds", checked.get("epoch_seconds", 0.0), 0, 1e7),
        "elapsed": _number("progress.json", "elapsed", checked.get("elapsed", 0.0), 0, 1e7),
    }
    for key in ("loss", "accuracy"):
        value = checked.get(key)
        out[key] = None if value is None else _number("progress.json", key, value, 0, MAX_LOSS)
    out["trail"] = _trail(checked.get("trail", []), epochs)
    return out


def predictions(arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """predictions.npz: softmax outputs (n, 10) float32 in [0, 1] and labels (n,) uint8 in 0–9."""
    probabilities, labels = arrays.get("probabilities"), arrays.get("labels")
    if probabilities is None or labels is None:
        raise Damage("predictions.npz: it needs the arrays probabilities and labels")
    if probabilities.dtype.kind != "f" or probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES:
        raise Damage(f"predictions.npz: probabilities must be (n, 10) numbers, not {probabilities.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != (len(probabilities),):
        raise Damage("predictions.npz: labels must be whole numbers, one per row of probabilities")
    if not 1 <= len(labels) <= TEST_SIZE:
        raise Damage(f"predictions.npz: {len(labels):,} rows; a run scores 1 to {TEST_SIZE:,} test images")
    if not np.isfinite(probabilities).all() or probabilities.min() < 0 or probabilities.max() > 1:
        raise Damage("predictions.npz: probabilities must lie between 0 and 1")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise Damage("predictions.npz: labels must be classes 0 to 9")
    return probabilities.astype(np.float32, copy=False), labels.astype(np.uint8)


def weights(arrays: Mapping[str, np.ndarray], config: TrainConfig) -> list[np.ndarray]:
    """weights.npz: kernel, bias … for the run's layers, float, finite, shapes chained 784 → … → 10."""
    sizes = (28 * 28, *config.hidden_units, NUM_CLASSES)
    if set(arrays) != {f"w{i}" for i in range(2 * (len(sizes) - 1))}:
        raise Damage(f"weights.npz: expected {2 * (len(sizes) - 1)} arrays for this run's layers")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        kernel, bias = arrays[f"w{2 * i}"], arrays[f"w{2 * i + 1}"]
        if kernel.shape != (n_in, n_out) or bias.shape != (n_out,):
            raise Damage(f"weights.npz: layer {i + 1} must be ({n_in}, {n_out}) and ({n_out},)")
        if kernel.dtype.kind != "f" or bias.dtype.kind != "f":
            raise Damage(f"weights.npz: layer {i + 1} must hold numbers")
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise Damage(f"weights.npz: layer {i + 1} has values that are not finite")
        layers += [kernel.astype(np.float32, copy=False), bias.astype(np.float32, copy=False)]
    return layers


def snapshot(arrays: Mapping[str, np.ndarray], epoch: int) -> Mapping[str, np.ndarray]:
    """epochs/<k>.npz: test-set probabilities (n, 10), first-layer kernel (784, m) and bias (m,), float16, finite."""
    where = f"epochs/{epoch}.npz"
    if set(arrays) != {"probabilities", "kernel", "bias"}:
        raise Damage(f"{where}: expected the arrays probabilities, kernel and bias, not {sorted(arrays)[:5]}")
    probabilities, kernel, bias = arrays["probabilities"], arrays["kernel"], arrays["bias"]
    if probabilities.ndim != 2 or probabilities.shape[1] != NUM_CLASSES or not 1 <= len(probabilities) <= TEST_SIZE:
        raise Damage(f"{where}: probabilities must be (n, 10), not {probabilities.shape}")
    if kernel.ndim != 2 or kernel.shape[0] != 28 * 28 or bias.shape != kernel.shape[1:]:
        raise Damage(f"{where}: kernel (784, m) and bias (m,) expected, not {kernel.shape} and {bias.shape}")
    if any(array.dtype != np.float16 for array in (probabilities, kernel, bias)):
        raise Damage(f"{where}: arrays must be float16")
    if not all(np.isfinite(array).all() for array in (probabilities, kernel, bias)):
        raise Damage(f"{where}: values that are not finite")
    return arrays


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in an ``.npz`` file, never unpickling; FileNotFoundError or Damage."""
    try:
        with open(path, "rb") as file:
            loaded = np.load(file, allow_pickle=False)  # np.load leaks its file on a bad zip: ours closes it
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise Damage(f"{path.name}: a single array, not an array file")
            with loaded as arrays:
                if len(arrays.files) > 64:
                    raise Damage(f"{path.name}: holds {len(arrays.files)} arrays")
                return {name: arrays[name] for name in arrays.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, zlib.error) as exc:  # .npz files are zips
        raise Damage(f"{path.name}: not a readable array file ({str(exc)[:120]})") from None


def _object(where: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Damage(f"{where}: must be a JSON object, not {type(data).__name__}")
    return dict(data)


def _number(where: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Damage(f"{where}: {key} must be a number, not {str(value)[:40]!r}")
    if not low <= value <= high:
        raise Damage(f"{where}: {key} must lie between {low:g} and {high:g}")
    return float(value)


def _count(where: str, key: str, value: Any, high: int, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Damage(f"{where}: {key} must be a whole number from {low} to {high:,}")
    return value


def _text(where: str, key: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise Damage(f"{where}: {key} must be text")
    return value[:limit]


def _trail(value: Any, epochs: int) -> list[list[float]]:
    if not isinstance(value, list) or len(value) > 10_000:
        raise Damage("progress.json: trail must be a list of points")
    points = []
    for point in value:
        if not isinstance(point, list) or len(point) != 3:
            raise Damage("progress.json: each trail point is [x, loss, accuracy]")
        x = _number("progress.json", "trail x", point[0], 0, epochs)
        points.append([x, *(_number("progress.json", "trail value", v, 0, MAX_LOSS) for v in point[1:])])
    return points


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")
