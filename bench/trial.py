"""One timed training in a fresh process; prints one JSON line. Used by ``bench/bench.py``.

    python bench/trial.py notebook --units 128 --epochs 3 --seed 0
    python bench/trial.py project  --units 128 --epochs 3 --seed 0 [--no-live] [--no-snapshots] [--train-samples N]
    python bench/trial.py group    --units 128 --epochs 5 --seed 0 --replicas 5 [--train-samples N]
    python bench/trial.py limit    --units 128

``notebook`` is the course notebook's code as written (``model.fit(images / 255.0,
labels, epochs=…)``, batch 32, Keras' default progress bar on stderr).
``project`` is ``fmnist_lab.training.engine.train``: the path the app and CLI use (the compiled loop for a
plain full-size run; ``--engine keras`` forces Keras' ``fit``, ``train.train_run``).

Both time the same span: the notebook's ``fit(images / 255.0, …)`` call (scaling and
fitting), and the project's ``train_seconds`` (scaling, building the model, fitting,
with its per-epoch held-out scoring, live progress and TensorBoard logs). ``group`` is
``training.replicas.train_replicas`` over K seeds, timed the same way (its ``train_seconds``).
``limit`` measures this machine's float32 matmul throughput for one training step's own shapes
(batch 32: the forward and backward products of the first and last layer, TensorFlow compiled
and NumPy), and for one large product, to turn an epoch's arithmetic into seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

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


def project(
    units: int,
    epochs: int,
    seed: int,
    live: bool,
    snapshots: bool = True,
    samples: int | None = None,
    keras_fit: bool = False,
) -> dict[str, Any]:
    from fmnist_lab import RunStore, TrainConfig
    from fmnist_lab.training import callbacks, engine, train
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
        run = store.create(TrainConfig(hidden_units=(units,), epochs=epochs, seed=seed, train_samples=samples))
        how = train.train_run if keras_fit else engine.train
        result = how(store, run.id, dataset=data, live=live)
        kept = sum(f.stat().st_size for f in (store.path(run.id) / "epochs").glob("*.npz")) if snapshots else 0
        later = [record["seconds"] for record in store.history(run.id)[1:]]  # past the first epoch's compiling
    return {
        "seconds": result.train_seconds,
        "seconds_per_epoch": result.train_seconds / epochs,
        "test_accuracy": result.test_accuracy,
        "live_share": sum(map(sum, spent)) / result.train_seconds,  # in-epoch progress snapshots and cancel polls
        "snapshot_share": sum(snapshot_spent) / result.train_seconds,  # time inside EpochSnapshots
        "snapshot_mb_per_epoch": kept / 1e6 / epochs,
        "engine": result.engine,
        "steady_seconds_per_epoch": statistics.median(later) if later else result.train_seconds / epochs,
    }


def group(units: int, epochs: int, seed: int, replicas: int, samples: int | None) -> dict[str, float]:
    """K seeds of one setup trained as one vectorised computation (the CLI's ``train --repeats K``)."""
    from fmnist_lab import RunStore, TrainConfig
    from fmnist_lab.training.data import load_dataset
    from fmnist_lab.training.replicas import train_replicas

    data = load_dataset()
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(Path(home) / "runs")
        config = TrainConfig(hidden_units=(units,), epochs=epochs, train_samples=samples)
        ids = [store.create(replace(config, seed=seed + k)).id for k in range(replicas)]
        results = train_replicas(store, ids, dataset=data)
    seconds = results[0].train_seconds  # the group's: every member carries it
    accuracy = sum(r.test_accuracy for r in results) / replicas
    return {"seconds": seconds, "seconds_per_epoch": seconds / epochs, "test_accuracy": accuracy}


def epoch_gflop(units: int, images: int = 60_000) -> float:
    """One epoch's arithmetic: forward + backward = 3 × 2 × multiply-adds (the issue's count)."""
    return images * (784 * units + units * 10) * 2 * 3 / 1e9


def limit(units: int, batch: int = 32, repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of one step's matmuls at ``batch`` (TensorFlow under XLA, NumPy), and of a large product."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x, g = rng.random((batch, 784), np.float32), rng.random((batch, 10), np.float32)
    w1, w2 = rng.random((784, units), np.float32), rng.random((units, 10), np.float32)
    step_flop = 2 * batch * (2 * 784 * units + 3 * units * 10)  # x·W1, h·W2, hᵀ·g, g·W2ᵀ, xᵀ·dh
    steps = max(20, round(4e9 / step_flop))  # about 4 GFLOP a timing

    def numpy_steps() -> None:
        for _ in range(steps):
            h = x @ w1
            h @ w2, h.T @ g
            w1[:] -= 1e-12 * (x.T @ (g @ w2.T))  # an update, so no step repeats the last one

    @tf.function(jit_compile=True)
    def tf_steps(w: tf.Tensor) -> tf.Tensor:
        for _ in tf.range(steps):
            h = tf.matmul(x, w)
            w = w - 1e-12 * tf.matmul(
                x, tf.matmul(g, w2, transpose_b=True) + tf.reduce_sum(tf.matmul(h, w2)), transpose_a=True
            )
            w = w - 1e-12 * tf.reduce_sum(tf.matmul(h, g, transpose_a=True))
        return w

    big = tf.constant(rng.random((4096, 784), np.float32))
    tf_big = tf.function(jit_compile=True)(lambda w: tf.matmul(big, w))
    tf_w1 = tf.constant(w1)
    tf_steps(tf_w1).numpy(), tf_big(tf_w1).numpy()  # compile first
    numpy_s = best_of(repeats, numpy_steps)
    tf_s = best_of(repeats, lambda: tf_steps(tf_w1).numpy())
    big_s = best_of(repeats, lambda: tf_big(tf_w1).numpy())
    return {
        "epoch_gflop": epoch_gflop(units),
        "tf_gflops": steps * step_flop / tf_s / 1e9,
        "numpy_gflops": steps * step_flop / numpy_s / 1e9,
        "tf_large_gflops": 2 * 4096 * 784 * units / big_s / 1e9,
    }


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The median of ``repeats`` timings of ``work`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    parser.add_argument("path", choices=("notebook", "project", "group", "limit"))
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-live", action="store_true", help="project only: no in-epoch progress")
    parser.add_argument("--no-snapshots", action="store_true", help="project only: keep no per-epoch snapshots")
    parser.add_argument("--replicas", type=int, default=5, help="group only: seeds trained together")
    parser.add_argument("--train-samples", type=int, help="project and group: training images (all)")
    parser.add_argument(
        "--engine", choices=("auto", "keras"), default="auto", help="project only: keras forces Keras' fit"
    )
    args = parser.parse_args()
    if args.path == "notebook":
        result = notebook(args.units, args.epochs, args.seed)
    elif args.path == "group":
        result = group(args.units, args.epochs, args.seed, args.replicas, args.train_samples)
    elif args.path == "limit":
        result = limit(args.units)
    else:
        live, snapshots = not args.no_live, not args.no_snapshots
        keras_fit = args.engine == "keras"
        result = project(args.units, args.epochs, args.seed, live, snapshots, args.train_samples, keras_fit)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
