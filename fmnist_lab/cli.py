"""Command line: ``python -m fmnist_lab train …`` and ``python -m fmnist_lab runs``.

``train`` prints one line per epoch (and a progress bar on a terminal), then exactly
one JSON line with the result, so scripts can read the last line. Bad arguments
exit with a usage message and code 2; a missing data set or a failed run with 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .config import ACTIVATIONS, HOLDOUTS, OPTIMIZERS, ConfigError, TrainConfig
from .data import DataError
from .runs import RunStore, RunStoreError

BAR_WIDTH = 30


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fmnist_lab", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train one model and store it as a run")
    train.add_argument(
        "--hidden-units",
        type=int,
        action="append",
        metavar="N",
        help="a hidden layer of N units; repeat for more layers (default: one of 128)",
    )
    train.add_argument("--epochs", type=int, default=5, help="passes over the training images (default: 5)")
    train.add_argument(
        "--stop-loss", type=float, metavar="LOSS", help="stop after the first epoch whose training loss is below LOSS"
    )
    train.add_argument("--no-normalize", action="store_true", help="feed raw 0-255 pixels instead of dividing by 255")
    train.add_argument("--batch-size", type=int, default=32, help="images per weight update (default: 32)")
    train.add_argument("--seed", type=int, default=0, help="random seed: same seed and settings give the same curves")
    train.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--learning-rate", type=float, metavar="LR", help="default: the optimizer's own (Adam 0.001)")
    train.add_argument(
        "--holdout", choices=HOLDOUTS, default="test", help="data scored after each epoch (default: test)"
    )
    train.add_argument(
        "--train-samples", type=int, metavar="N", help="train on the first N images only (default: all 60,000)"
    )
    train.add_argument(
        "--test-samples", type=int, metavar="N", help="test on the first N images only (default: all 10,000)"
    )
    train.add_argument("--name", help="a display name for the run")
    train.set_defaults(parser=train)
    runs = commands.add_parser("runs", help="list stored runs")
    runs.add_argument("--json", action="store_true", help="one JSON object per run, one per line")
    worker = commands.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("--runs-dir", help="the run store's folder (default: $FMNIST_LAB_HOME/runs)")
    worker.add_argument("run_id")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        hidden_units=tuple(args.hidden_units or (128,)),
        activation=args.activation,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        normalize=not args.no_normalize,
        stop_loss=args.stop_loss,
        seed=args.seed,
        holdout=args.holdout,
        train_samples=args.train_samples,
        test_samples=args.test_samples,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            try:
                config = config_from_args(args)
            except ConfigError as exc:
                args.parser.error(str(exc))
            return train_command(config, args.name, sys.stdout)
        if args.command == "runs":
            return runs_command(args.json, sys.stdout)
        return worker_command(args.run_id, args.runs_dir)
    except (DataError, RunStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def train_command(config: TrainConfig, name: str | None, out: TextIO) -> int:
    from . import jobs
    from .data import load_dataset

    dataset = load_dataset()  # fail on missing data before a run folder is made
    store = RunStore()
    run = store.create(config, name)
    print(f"run {run.id}: {config.summary()}, {config.parameter_count:,} parameters", file=out, flush=True)
    with jobs.training_slot(store, run.id) as granted:  # the same queue as the app's trainings
        if not granted:
            print(f"error: {jobs.CANCELLED_IN_QUEUE}", file=sys.stderr)
            return 1
        from .train import train_run

        bar = out.isatty()
        hooks = {"on_progress": _draw_bar(out) if bar else None, "on_epoch": _epoch_line(out, bar)}
        try:
            result = train_run(store, run.id, dataset=dataset, **hooks)
        except Exception as exc:
            print(f"error: training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(result.to_dict()), file=out, flush=True)
    return 0


def runs_command(as_json: bool, out: TextIO) -> int:
    for run in RunStore().list():
        if as_json:
            row = {"run_id": run.id, "name": run.name, "status": run.state, "created": run.created}
            row |= {"config": run.config.to_dict(), "summary": run.config.summary()}
            row["test_accuracy"] = run.test_accuracy
            print(json.dumps(row), file=out)
        else:
            accuracy = "-" if run.test_accuracy is None else f"{run.test_accuracy:.4f}"
            print(f"{run.id}  {run.state:<8}  {accuracy:>6}  {run.config.summary()}", file=out)
    return 0


def worker_command(run_id: str, runs_dir: str | None) -> int:
    """Train an already-created run (the dashboard starts this in its own process)."""
    from . import jobs

    jobs.lower_priority()  # training is background work: the web server answering learners comes first
    store = RunStore(runs_dir)
    store.load(run_id)  # a bad or unknown id ends here, before any waiting
    with jobs.training_slot(store, run_id) as granted:
        if not granted:
            return 0  # training_slot recorded the run as stopped
        from .train import train_run

        try:
            train_run(store, run_id)
        except RunStoreError:
            raise
        except Exception as exc:  # already recorded in the run's status
            print(f"error: training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    return 0


def _epoch_line(out: TextIO, clear: bool) -> Any:
    def show(record: dict[str, Any]) -> None:
        parts = [f"epoch {record['epoch']:>3}", f"loss {_fmt(record['loss'])}", f"accuracy {_fmt(record['accuracy'])}"]
        if record.get("val_loss") is not None:
            parts += [f"val_loss {_fmt(record['val_loss'])}", f"val_accuracy {_fmt(record['val_accuracy'])}"]
        parts.append(f"{record['seconds']:.1f} s" + ("" if record["fraction"] >= 1 else " (stopped mid-epoch)"))
        print(("\r\033[K" if clear else "") + "  ".join(parts), file=out, flush=True)

    return show


def _draw_bar(out: TextIO) -> Any:
    def draw(progress: dict[str, Any]) -> None:
        done = progress["batch"] / max(progress["steps"], 1)
        filled = round(done * BAR_WIDTH)
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        loss = "" if progress["loss"] is None else f" loss {progress['loss']:.4f}"
        where = f"epoch {progress['epoch']}/{progress['epochs']} {bar} {progress['batch']}/{progress['steps']}"
        out.write(f"\r\033[K{where}{loss}")
        out.flush()

    return draw


def _fmt(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"
