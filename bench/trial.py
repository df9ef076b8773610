"""One timed training in a fresh process; prints one JSON line. Used by ``bench/bench.py``.

    python bench/trial.py notebook --units 128 --epochs 3 --seed 0
    python bench/trial.py project  --units 128 --epochs 3 --seed 0 [--no-live] [--no-snapshots]

``notebook`` is the course notebook's code as written (``model.fit(images / 255.0,
labels, epochs=…)``, batch 32, Keras' default progress bar on stderr).
``project`` is ``fmnist_lab.training.train.train_run``: the path the app and CLI use.

Both time the same span: the notebook's ``fit(images / 255.0, …)`` call (scaling and
fitting), and the project's ``train_seconds`` (scaling, building the model, fitting,
with its per-epoch held-out scoring, live progress and TensorBoard logs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def notebook(units: int, epochs: int, seed: int) -> dict[str, float]:
    import tensorflow as tf

    from fmnist_lab.training.data import load_dataset

    data = load_dataset()  # keras' fashion_mnist.load_data() would download; same arrays
    training_images, training_labels = data.x_train, data.y_train
    test_images, test_labels = data.x_test, data.y_test
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.models.Sequential(
        [
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(units, activation=tf.nn.relu),
            tf.keras.layers.Dense(10, activation=tf.nn.softmax),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Keras' progress bar goes where a notebook's would: shown
        model.fit(training_images / 255.0, training_labels, epochs=epochs)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(test_images / 255.0, test_labels, verbose=0)
    return {"seconds_per_epoch": seconds / epochs, "test_accuracy": float(accuracy)}


def project(units: int, epochs: int, seed: int, live: bool, snapshots: bool = True) -> dict[str, float]:
    from fmnist_lab import RunStore, TrainConfig
    from fmnist_lab.training import callbacks, train
    from fmnist_lab.training.data import load_dataset

    data = load_dataset()
    spent = [
        timed(callbacks.ProgressRecorder, "on_train_batch_end"),
        timed(callbacks.CancelOnRequest, "on_train_batch_end"),
    ]
    if not snapshots:  # the run without per-epoch snapshots, for comparison
        callbacks.EpochSnapshots.on_epoch_end = lambda self, epoch, logs=None: None  # type: ignore[method-assign]
    snapshot_spent = timed(callbacks.EpochSnapshots, "on_epoch_end")
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(Path(home) / "runs")
        run = store.create(TrainConfig(hidden_units=(units,), epochs=epochs, seed=seed))
        result = train.train_run(store, run.id, dataset=data, live=live)
        kept = sum(f.stat().st_size for f in (store.path(run.id) / "epochs").glob("*.npz")) if snapshots else 0
    return {
        "seconds_per_epoch": result.train_seconds / epochs,
        "test_accuracy": result.test_accuracy,
        "live_share": sum(map(sum, spent)) / result.train_seconds,  # in-epoch progress snapshots and cancel polls
        "snapshot_share": sum(snapshot_spent) / result.train_seconds,  # time inside EpochSnapshots
        "snapshot_mb_per_epoch": kept / 1e6 / epochs,
    }


def timed(cls: type, method: str) -> list[float]:
    """Wrap ``cls.method`` to add the seconds each call takes to the returned list."""
    spent: list[float] = []
    original = getattr(cls, method)

    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    setattr(cls, method, wrapper)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=("notebook", "project"))
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-live", action="store_true", help="project only: no in-epoch progress")
    parser.add_argument("--no-snapshots", action="store_true", help="project only: keep no per-epoch snapshots")
    args = parser.parse_args()
    if args.path == "notebook":
        result = notebook(args.units, args.epochs, args.seed)
    else:
        result = project(args.units, args.epochs, args.seed, live=not args.no_live, snapshots=not args.no_snapshots)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
