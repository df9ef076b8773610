"""Command line: ``python -m fmnist_lab train …``, ``… sweep …``, ``… runs``, ``… code RUN_ID``, ``… compare A B``
and ``… export --csv FILE``.

``train`` prints one line per epoch (and a progress bar on a terminal), then exactly
one JSON line with the result, so scripts can read the last line. ``sweep`` prints one JSON
line per run and a last one with the sweep's id and table. ``compare`` prints one JSON line: the
difference B − A in points, its 95 % interval, the test and the verdict. Bad arguments (an unknown or
damaged id for ``compare`` or ``explain``), an unusable ``FMNIST_LAB_HOME``, a ``--notebook`` or ``--csv``
target that is not a regular file and a bad file descriptor exit with one line on stderr and code 2; a
missing data set, an unknown run for ``code`` or a failed run with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from fmnist_lab.analysis.sweep import DEFAULT_SETTING, DEFAULT_VALUES, Sweep, SweepStore, new_sweep, table_rows
from fmnist_lab.config import DEFAULT, SETTINGS, ConfigError, RuleError, Setting, TrainConfig
from fmnist_lab.environment import environment
from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE
from fmnist_lab.execution.factory import executor
from fmnist_lab.store.paths import LabHomeError
from fmnist_lab.store.runs import Run, RunStore, RunStoreError, clean_name
from fmnist_lab.training.data import DataError

if TYPE_CHECKING:
    from fmnist_lab.training.result import TrainResult

BAR_WIDTH = 30


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fmnist_lab", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train one model and store it as a run")
    add_setting_options(train)
    train.add_argument("--name", help="a display name for the run")
    train.add_argument(
        "--repeats",
        type=_repeats,
        default=1,
        metavar="K",
        help="train the setup over K seeds (the seed, then the next ones) and store them as a group, 1-10 (1)",
    )
    train.set_defaults(parser=train)
    sweep = commands.add_parser(
        "sweep",
        help="train a series with everything equal but one setting (or a cross of two)",
        description="The swept setting is whichever option has a comma list, e.g. --hidden-units 16,32,64 "
        "(each a one-layer size) or --dropout 0,0.2,0.5; two lists make a cross. No list: hidden units 16 … 1024.",
    )
    add_setting_options(sweep)
    sweep.add_argument(
        "--repeats",
        type=_repeats,
        default=1,
        metavar="K",
        help="train each point over K seeds (the seed, then the next ones), each point's runs a group, 1-10 (1)",
    )
    sweep.set_defaults(parser=sweep)
    code = commands.add_parser("code", help="print the plain Keras script that reproduces a run")
    code.add_argument("run_id", help="the run's id, as `runs` lists it")
    code.add_argument("--notebook", metavar="FILE", help="write a Jupyter notebook to FILE instead of printing")
    compare = commands.add_parser(
        "compare",
        help="compare two groups or runs: the difference B − A, its 95%% interval and a verdict in words",
    )
    compare.add_argument("a", metavar="A", help="a group or run id")
    compare.add_argument("b", metavar="B", help="a group or run id; the difference is B − A")
    export = commands.add_parser("export", help="write every run as one row of a table")
    export.add_argument("--csv", metavar="FILE", required=True, help="a new file, or a regular file to replace")
    add_explain_parser(commands)
    runs = commands.add_parser("runs", help="list stored runs")
    runs.add_argument("--json", action="store_true", help="one JSON object per run, one per line")
    worker = commands.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("--runs-dir", help="the run store's folder (default: $FMNIST_LAB_HOME/runs)")
    worker.add_argument(
        "--lock-fd", type=int, action="append", required=True, help="an open fd on a run's alive.lock, locked"
    )
    worker.add_argument("run_id", nargs="+", help="one run, or a group's runs (trained as one), one --lock-fd each")
    warm = commands.add_parser("warm", help=argparse.SUPPRESS)
    warm.add_argument("--runs-dir", help="the run store's folder (default: $FMNIST_LAB_HOME/runs)")
    warm.add_argument("--channel-fd", type=int, required=True, help="a SOCK_SEQPACKET socket to the pool")
    return parser


def add_setting_options(parser: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` setting, generated from its ``Setting``; absent ones keep the default."""
    for name, setting in SETTINGS.items():
        default = setting.describe(getattr(DEFAULT, name))
        text = f"{setting.help}{_only_with(setting)} ({default})".replace("%", "%%")  # argparse formats with %
        options: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": text}
        if setting.kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif setting.kind == "layers":
            options |= {
                "action": "append",
                "metavar": "N",
                "help": text.replace(f"({default})", "Repeat for more layers (128)."),
            }
        elif setting.kind == "class_fractions":
            repeat = "Repeat for more classes; class by name or index (none)."
            options |= {"action": "append", "metavar": "CLASS=FRACTION", "help": text.replace(f"({default})", repeat)}
        elif setting.kind == "choice":
            options["choices"] = setting.choices
        else:
            options["metavar"] = setting.param.upper()
        parser.add_argument(setting.flag, **options)


def _only_with(setting: Setting) -> str:
    """`` Only with --optimizer sgd.`` for a setting that applies only when another has one value."""
    if setting.applies_when is None:
        return ""
    by, wanted = setting.applies_when
    return f" Only with {SETTINGS[by].flag} {SETTINGS[by].format(wanted)}."


def _checked(values: dict[str, Any]) -> TrainConfig:
    """The config of ``values``; a broken rule between settings is one ConfigError naming the flag to drop."""
    try:
        return TrainConfig(**values)
    except RuleError as exc:
        raise ConfigError(f"{SETTINGS[exc.rule.reset].flag}: {exc}") from None


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config the options ask for; ConfigError names the first bad one."""
    values = {}
    for name, setting in SETTINGS.items():
        given = getattr(args, name, None)
        try:
            if isinstance(given, list | str):  # a list: a repeated option (--hidden-units, --class-share)
                values[name] = setting.parse(given if isinstance(given, str) else ",".join(given))
            elif given is not None:
                values[name] = given
        except ConfigError as exc:
            raise ConfigError(f"{setting.flag}: {exc}") from None
    return _checked(values)


def sweep_from_args(args: argparse.Namespace) -> tuple[TrainConfig, dict[str, list[Any]]]:
    """The base config (options without a comma) and the swept values (options with one)."""
    fixed: dict[str, Any] = {}
    axes: dict[str, list[Any]] = {}
    for name, setting in SETTINGS.items():
        given = getattr(args, name, None)
        text = ",".join(given) if isinstance(given, list) else given  # a list: repeated --hidden-units
        try:
            if isinstance(text, str) and "," in text:
                axes[name] = [setting.parse(part) for part in text.split(",") if part.strip()]  # one layer each
            elif isinstance(text, str):
                fixed[name] = setting.parse(text)
            elif text is not None:
                fixed[name] = text
        except ConfigError as exc:
            raise ConfigError(f"{setting.flag}: {exc}") from None
    return _checked(fixed), axes or {DEFAULT_SETTING: list(DEFAULT_VALUES)}


class UsageError(ValueError):
    """A command given something it cannot use (a file, a descriptor); exit 2 with the message."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            try:
                config = config_from_args(args)
                name = None if args.name is None else clean_name(args.name)
            except ValueError as exc:  # ConfigError is one too
                args.parser.error(str(exc))
            if args.repeats > 1:
                return repeat_command(config, name, args.repeats, sys.stdout)
            return train_command(config, name, sys.stdout)
        if args.command == "sweep":
            try:
                base, axes = sweep_from_args(args)
                planned = new_sweep(base, axes, args.repeats)
            except ConfigError as exc:
                args.parser.error(str(exc))
            return sweep_command(planned, sys.stdout)
        if args.command == "runs":
            return runs_command(args.json, sys.stdout)
        if args.command == "warm":
            return warm_command(args.runs_dir, args.channel_fd)
        if args.command == "code":
            return code_command(args.run_id, args.notebook, sys.stdout)
        if args.command == "compare":
            return compare_command(args.a, args.b, sys.stdout)
        if args.command == "export":
            return export_command(args.csv)
        if args.command == "explain":
            return explain_command(args.run_id, args.image, args.file, args.out, sys.stdout)
        return worker_command(args.run_id, args.runs_dir, args.lock_fd)
    except (LabHomeError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DataError, RunStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def train_command(config: TrainConfig, name: str | None, out: TextIO) -> int:
    from fmnist_lab.training.data import load_dataset

    load_dataset()  # fail on missing data before a run folder is made
    store = RunStore()
    stop = StopOnSignal(store)  # Ctrl-C and `kill` stop the run as the app's Stop does: recorded, not left running
    bar = out.isatty()
    hooks = {"on_progress": _draw_bar(out) if bar else None, "on_epoch": _epoch_line(out, bar)}

    def created(run: Run) -> None:
        stop.run_ids.append(run.id)
        print(f"run {run.id}: {run.name}, {config.parameter_count:,} parameters", file=out, flush=True)

    result = _train_one(store, config, name, **hooks, on_created=created)  # the same queue as the app's trainings
    if result is not None:
        print(json.dumps(result.to_dict()), file=out, flush=True)
    if stop.asked:
        print("interrupted: the run stopped with what it had learnt", file=sys.stderr)
        return 130
    return 0 if result is not None else 1


class StopOnSignal:
    """SIGINT and SIGTERM ask this command's runs to stop, as the app's Stop button does: training ends at
    its next look (a fraction of a second) keeping what it learnt, recorded as stopped, and a run still
    waiting leaves the queue. An exception raised at whatever moment the signal comes can land inside
    TensorFlow's C++ while it traces a step, which may swallow it and train on to the end. Before any run
    exists, or at a second signal, the command is interrupted at once (KeyboardInterrupt)."""

    def __init__(self, store: RunStore, run_ids: list[str] | None = None) -> None:
        self.store, self.run_ids, self.asked = store, run_ids if run_ids is not None else [], False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.asked or not self.run_ids:
            raise KeyboardInterrupt
        self.asked = True
        for run_id in self.run_ids:
            try:
                self.store.request_cancel(run_id)
            except OSError:  # cannot write the request: interrupt instead
                raise KeyboardInterrupt from None


def repeat_command(config: TrainConfig, name: str | None, repeats: int, out: TextIO) -> int:
    """Train the setup over ``repeats`` seeds (as one vectorised computation when ``sequential_reason``
    finds none, else one after another): a JSON line per run, then the group's (``group_id``, ``runs``,
    member counts, ``test_accuracy`` as mean, sd, min, max and n, ``engine`` and why if sequential)."""
    from fmnist_lab.analysis.spread import group_summary
    from fmnist_lab.store.groups import GroupStore, seed_series
    from fmnist_lab.training.data import load_dataset

    load_dataset()  # fail on missing data before a run folder is made
    store, ids = RunStore(), list[str]()
    stop = StopOnSignal(store, ids)  # a stop ends the group, or the run training and the seeds after it
    why = sequential_reason(config)
    results: Iterable[TrainResult | None]
    if why is None:
        results = _train_group(store, seed_series(config, repeats), name, ids)
    else:  # trained one by one as the loop asks for them, each line printed as its run ends
        hooks = {"on_epoch": _epoch_line(sys.stderr, False), "on_created": lambda run: ids.append(run.id)}
        configs = seed_series(config, repeats)
        results = (_train_one(store, config_k, name, **hooks) for config_k in configs if not stop.asked)
    for result in results:
        if result is not None:
            print(json.dumps(result.to_dict()), file=out, flush=True)
    groups = GroupStore(store)
    summary = group_summary(groups, groups.create(ids, name))
    engine = {"engine": "vectorised"} if why is None else {"engine": "sequential", "reason": why}
    print(json.dumps(summary | engine), file=out, flush=True)
    if stop.asked:
        print("interrupted: the runs stopped with what they had learnt", file=sys.stderr)
        return 130
    return 0 if summary["finished"] == repeats else 1


def sequential_reason(config: TrainConfig) -> str | None:
    """Why the seeds of ``config`` train one run after another; None: as one vectorised computation."""
    if environment().ray_address:
        return "a Ray cluster trains a group's members one by one"
    from fmnist_lab.training.grouping import vectorisable

    return vectorisable(config)


def _train_group(store: RunStore, configs: list[TrainConfig], name: str | None, ids: list[str]) -> list[TrainResult]:
    """Train ``configs`` (one setup, K seeds) as one computation in this process, in one slot of the
    local queue, each member held alive by its lock; their ids go into ``ids``. [] if refused or failed."""
    from fmnist_lab.execution.processes import hold_lock
    from fmnist_lab.execution.slots import SlotQueue
    from fmnist_lab.training.replicas import train_replicas

    limits = executor(store).limits
    if why := next(filter(None, map(limits.exceeded, configs)), None):
        print(f"error: {why}", file=sys.stderr)
        return []
    locks: list[int] = []
    ids += [store.create(c, name, on_staged=lambda folder: locks.append(hold_lock(folder))).id for c in configs]
    show = _epoch_line(sys.stderr, False)
    try:
        with SlotQueue(store, environment().trainings()).slot(ids[0], ids) as granted:  # one unit in line
            if not granted:  # a stop on any member stopped them all
                print(f"error: {CANCELLED_IN_QUEUE}", file=sys.stderr)
                return []
            return train_replicas(store, ids, on_epoch=lambda run_id, record: show(record))
    except (DataError, RunStoreError, KeyboardInterrupt):
        raise
    except Exception as exc:  # recorded in every member's status by train_replicas
        print(f"error: training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return []
    finally:
        for fd in locks:
            os.close(fd)


def _repeats(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 10, not {text[:20]!r}") from None
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"must be from 1 to 10, not {value}")
    return value


def _train_one(store: RunStore, config: TrainConfig, name: str | None, **hooks: Any) -> TrainResult | None:
    """Train one run through the executor; None (the reason printed) if it failed or left the queue."""
    try:
        result = executor(store).run(config, name, **hooks)
    except (DataError, RunStoreError, KeyboardInterrupt):
        raise
    except Exception as exc:
        print(f"error: training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    if result is None:
        print(f"error: {CANCELLED_IN_QUEUE}", file=sys.stderr)
    return result


def sweep_command(sweep: Sweep, out: TextIO) -> int:
    """Train the sweep's runs in turn through the executor; a JSON line per run, then the sweep's.

    With ``repeats`` K > 1 each point trains over K seeds and its runs are stored as a group; a member
    that fails leaves the others (the exit code is then 1), and the last line's ``points`` give each
    point's test accuracy as mean, sd, min, max and n."""
    from fmnist_lab.training.data import load_dataset

    load_dataset()  # fail on missing data before anything is stored
    signal.signal(signal.SIGTERM, _interrupt)
    sweeps = SweepStore(RunStore())
    sweep = sweeps.save(sweep)
    points = sweep.point_configs()
    failed = False
    for index, configs in enumerate(points, start=1):
        print(f"point {index}/{len(points)}: {configs[0].summary()}", file=sys.stderr, flush=True)
        sweep, ok = _sweep_point(sweeps, sweep, configs, out)
        if not ok and sweep.repeats == 1:
            return 1
        failed |= not ok
    rows = table_rows(sweep, sweeps.runs)
    last = {"sweep_id": sweep.id, "settings": list(sweep.settings), "repeats": sweep.repeats, "table": rows}
    if sweep.repeats > 1:
        last |= {"group_ids": list(sweep.group_ids), "points": _point_summaries(sweep, rows)}
    print(json.dumps(last), file=out, flush=True)
    return 1 if failed else 0


def _sweep_point(sweeps: SweepStore, sweep: Sweep, configs: list[TrainConfig], out: TextIO) -> tuple[Sweep, bool]:
    """Train one point's seeds one after another; record the runs (and, for several seeds, their group)."""
    from fmnist_lab.store.groups import GroupStore

    ids: list[str] = []
    ok = True
    for config in configs:
        name = f"sweep {sweep.id} · {config.summary()}" + (f" · seed {config.seed}" if len(configs) > 1 else "")
        result = _train_one(sweeps.runs, config, name, on_created=lambda run: ids.append(run.id))
        ok &= result is not None
        if result is not None:
            print(json.dumps(result.to_dict()), file=out, flush=True)
    for run_id in ids:
        sweep = sweeps.add_run(sweep, run_id)
    if len(configs) > 1 and ids:
        sweep = sweeps.add_group(sweep, GroupStore(sweeps.runs).create(ids, f"sweep · {configs[0].summary()}").id)
    return sweep, ok


def _point_summaries(sweep: Sweep, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each point's swept values and its finished runs' test accuracy ``{mean, sd, min, max, n}``."""
    from fmnist_lab.analysis.statistics import summarize

    labels = [SETTINGS[name].label for name in sweep.settings]
    points: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        values = points.setdefault(tuple(row[label] for label in labels), [])
        if row["test accuracy"] is not None:
            values.append(row["test accuracy"])
    return [
        dict(zip(labels, point, strict=True)) | {"test_accuracy": summarize(v).to_dict() if v else None}
        for point, v in points.items()
    ]


def runs_command(as_json: bool, out: TextIO) -> int:
    store = RunStore()
    executor(store).refresh()  # a run whose process died shows as failed, with no server needed
    for run in store.list():
        if as_json:
            row: dict[str, Any] = {"run_id": run.id, "name": run.name, "status": run.state, "created": run.created}
            row |= {"config": run.config.to_dict(), "summary": run.config.summary()}
            row["test_accuracy"] = run.test_accuracy
            print(json.dumps(row), file=out)
        else:
            accuracy = "-" if run.test_accuracy is None else f"{run.test_accuracy:.4f}"
            print(f"{run.id}  {run.state:<8}  {accuracy:>6}  {run.config.summary()}", file=out)
    return 0


def code_command(run_id: str, notebook: str | None, out: TextIO) -> int:
    """Print the run's script, or write its notebook to ``notebook``."""
    from fmnist_lab.teaching import codegen

    config = RunStore().load(run_id).config  # a bad or unknown id raises RunStoreError: exit 1
    if notebook is not None:
        check_new_or_regular(notebook)
    if notebook is None:
        print(codegen.script(config, run_id), file=out, end="")
        return 0
    try:
        codegen.write_notebook(config, notebook, run_id)
    except OSError as exc:
        print(f"error: cannot write {notebook}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {notebook}", file=sys.stderr)
    return 0


def compare_command(id_a: str, id_b: str, out: TextIO) -> int:
    """Print B against A as one JSON line; an unknown, hostile or damaged id exits 2, nothing finished 1."""
    from fmnist_lab.analysis.spread import NothingToCompare, report
    from fmnist_lab.store.groups import GroupStore

    try:
        line = report(GroupStore(RunStore()), id_a, id_b)
    except NothingToCompare as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RunStoreError as exc:  # GroupError, InvalidRunId, RunNotFound and DamagedRun are ones
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(line), file=out)
    return 0


def export_command(target: str) -> int:
    """Every run, one row each, to the CSV file ``target``; a link, device or folder there exits 2."""
    from pathlib import Path

    from fmnist_lab.store.export import UnsafeTarget, write_csv

    try:
        rows = write_csv(RunStore().list(), Path(target))
    except UnsafeTarget as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {rows} runs to {target}", file=sys.stderr)
    return 0


def add_explain_parser(commands: Any) -> None:
    explain = commands.add_parser(
        "explain",
        help="why a run gave its answer for one image: one JSON line (logits = contributions + bias_terms)",
    )
    explain.add_argument("run_id", help="the run's id, as `runs` lists it")
    which = explain.add_mutually_exclusive_group(required=True)
    which.add_argument("--image", type=int, metavar="N", help="a test image's index")
    which.add_argument("--file", metavar="PICTURE", help="a PNG or JPEG picture of one garment")
    explain.add_argument("--out", metavar="DIR", help="also write the explanation's pictures (PNG) to DIR")


def explain_command(run_id: str, index: int | None, picture: str | None, out_dir: str | None, out: TextIO) -> int:
    """Print one JSON line explaining the run's answer; a bad id, damaged run, bad index or picture: exit 2."""
    from fmnist_lab.analysis import explain, images

    try:
        store = RunStore()
        config = store.load(run_id).config
        weights = store.weights(run_id)
        image, true = _explained_image(store, run_id, index, picture)
        result = explain.explain(weights, config.activation, config.normalize, image)
        if out_dir is not None:
            _write_pictures(result, image, true, out_dir)
    except (RunStoreError, images.ImageError, IndexError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or picture or out_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(json.dumps({"run_id": run_id, "image": index, "true": true, **result.summary()}), file=out, flush=True)
    return 0


def _explained_image(store: RunStore, run_id: str, index: int | None, picture: str | None) -> tuple[Any, int | None]:
    """The raw picture (28, 28) uint8 and its true class (None for a file)."""
    from pathlib import Path

    from fmnist_lab.analysis import images
    from fmnist_lab.training.data import load_dataset

    if picture is not None:
        return images.prepare_upload(Path(picture).read_bytes()).image, None
    _, labels = store.predictions(run_id)
    if index is None or not 0 <= index < len(labels):
        raise IndexError(f"--image {index} is out of range: run {run_id} has test images 0 to {len(labels) - 1}.")
    return load_dataset().x_test[index], int(labels[index])


def _write_pictures(result: Any, image: Any, true: int | None, out_dir: str) -> None:
    """Templates, contributions, saliency, IG and occlusion as PNG files in ``out_dir``."""
    from pathlib import Path

    from fmnist_lab.analysis import explain
    from fmnist_lab.charts import explain as pictures

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    maps = {"saliency": result.saliency.reshape(28, 28), "integrated_gradients": result.ig.attributions.reshape(28, 28)}
    maps["occlusion"] = explain.upscale(result.occlusion)
    if (d := result.decomposition) is not None:
        p = result.predicted
        maps |= {"template_predicted": d.template(p), "contributions_predicted": d.contribution(p)}
        if true is not None:
            maps |= {"template_true": d.template(true), "contributions_true": d.contribution(true)}
            maps["contributions_difference"] = d.contribution(p, versus=true)
    (folder / "image.png").write_bytes(pictures.png(pictures.enlarge(image)))
    for name, values in maps.items():
        (folder / f"{name}.png").write_bytes(pictures.png(pictures.diverging_rgb(values)))


def check_new_or_regular(path: str) -> None:
    """UsageError unless ``path`` is a regular file or does not exist: a link, device or folder is not
    replaced by the notebook (writing is a rename, which would replace the link or device node itself)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise UsageError(f"{path} is {kind}: give --notebook a new path or a regular file to replace")


def open_fd(fd: int, option: str) -> int:
    """``fd`` if this process has it open, else UsageError (the hidden commands are given one by the app)."""
    try:
        os.fstat(fd)
    except (OSError, OverflowError):
        raise UsageError(f"{option} {fd} is not an open file descriptor") from None
    return fd


def worker_command(run_ids: list[str], runs_dir: str | None, lock_fds: list[int]) -> int:
    """Train a run the app created, or a group's runs as one computation (``LocalExecutor`` starts this
    in its own process); ``lock_fds``: each run's alive-lock fd, in the same order."""
    from fmnist_lab.execution.processes import lower_priority
    from fmnist_lab.execution.slots import SlotQueue
    from fmnist_lab.execution.worker import work, work_group

    if len(lock_fds) != len(run_ids):
        raise UsageError(f"{len(run_ids)} run ids need as many --lock-fd, not {len(lock_fds)}")
    for fd in lock_fds:  # a process TensorFlow starts must not keep the runs "alive" after us
        os.set_inheritable(open_fd(fd, "--lock-fd"), False)
    lower_priority()  # training is background work: the web server answering learners comes first
    store = RunStore(runs_dir)
    for run_id in run_ids:
        store.load(run_id)  # a bad or unknown id ends here, before any waiting
    slots = SlotQueue(store, environment().trainings())
    try:
        if len(run_ids) == 1:
            work(slots, run_ids[0], lock_fds[0])
        else:
            work_group(slots, run_ids, lock_fds)
    except RunStoreError:
        raise
    except Exception as exc:  # already recorded in the run's status
        print(f"error: training failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def warm_command(runs_dir: str | None, channel_fd: int) -> int:
    """Be one warm worker of the app's pool (``execution.warm.WarmPool`` starts this)."""
    import socket

    from fmnist_lab.execution.slots import SlotQueue
    from fmnist_lab.execution.warm import serve

    try:
        channel = socket.socket(fileno=open_fd(channel_fd, "--channel-fd"))
    except OSError as exc:
        raise UsageError(f"--channel-fd {channel_fd} is not a socket ({exc.strerror or exc})") from None
    settings = environment()
    with channel:
        return serve(SlotQueue(RunStore(runs_dir), settings.trainings()), channel, settings.worker_runs)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


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
