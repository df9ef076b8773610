"""The run store: one folder per training run under ``$FMNIST_LAB_HOME/runs``.

A run folder holds small files, each written atomically (temporary name + rename):

    run.json         id, name, creation time, owner id, the learner's display name, the TrainConfig
    status.json      state (queued/running/finished/stopped/failed), error, stop reason, times
    history.json     one record per epoch (loss, accuracy, held-out loss/accuracy, seconds)
    progress.json    where training is now (epoch, batch, running loss/accuracy)
    metrics.json     test-set loss and accuracy and run totals, written at the end
    predictions.npz  test-set softmax outputs (n, 10) float32 and labels (n,) uint8
    weights.npz      the Dense layers' kernels and biases
    epochs/<k>.npz   after epoch k: test-set softmax (n, 10) and the first layer's kernel (784, m)
                     and bias (m,) of its first m ≤ 128 neurons, all float16 (older runs have none)
    model.keras      the trained model
    logs/            TensorBoard event files
    cancel           present when someone asked the run to stop
    spare            64 kB of zeros, deleted to make room for the end status on a full disk

A run whose result files (metrics, predictions, weights, history, model) are all present and valid
is finished (or stopped, as its metrics say), whatever happened to its final status write: a process
killed between ``metrics.json`` and ``status.json`` is recorded "finished (status recovered)", not failed.

Ids are generated here; an id from outside (URL, CLI) is checked against a strict
pattern before it is joined to a path, so no id can reach outside the store.
"""

from __future__ import annotations

import builtins
import contextlib
import csv
import errno
import io
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fmnist_lab.config import TrainConfig
from fmnist_lab.store import atomic, paths, stored
from fmnist_lab.store.learners import LearnerStore

log = logging.getLogger(__name__)

STATES = stored.STATES
ACTIVE_STATES = ("queued", "running")
EPOCH_FILE = re.compile(r"[0-9]{1,4}")  # epochs/<k>.npz; not str.isdigit, which takes "²" that int() refuses
RUN_ID_PATTERN = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")  # e.g. 20261121-093015-a3f09c
MAX_NAME_LENGTH = 80
UNRECORDED: dict[Path, dict[str, Any]] = {}  # run folder → an end status the store could not take
SPARE, SPARE_BYTES = "spare", 64 * 1024  # room kept for the end status: a full disk must not lose why a run failed
RESULT_FILES = ("metrics.json", "predictions.npz", "weights.npz", "history.json", "model.keras")  # train.save_run's
LEFTOVER_AGE = 600.0  # seconds: a temporary file this old has no writer left (saves take seconds)


class RunStoreError(RuntimeError):
    """Base class for run-store problems."""


class InvalidRunId(RunStoreError, ValueError):
    """An id that could not have come from this store."""


class RunNotFound(RunStoreError, LookupError):
    """No readable run with that id."""


class StoreUnwritable(RunStoreError):
    """The store's folder cannot be written (missing rights, full disk, not a folder)."""


class DamagedRun(RunNotFound):
    """One of the run's files is damaged; the message names it. Other runs are not affected."""


@dataclass(frozen=True, eq=False)
class EpochSnapshot:
    """A run as it was after one epoch (``epochs/<k>.npz``), widened to float32 on reading."""

    epoch: int
    probabilities: np.ndarray  # (n, 10) test-set softmax outputs
    kernel: np.ndarray  # (784, m) incoming weights of the first layer's first m neurons
    bias: np.ndarray  # (m,)


class RunBusy(RunStoreError):
    """The run is queued or training; stop it first."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def check_run_id(run_id: object) -> str:
    """Return ``run_id`` if it has the store's shape; raise ``InvalidRunId`` otherwise."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        shown = repr(run_id)[:40]
        raise InvalidRunId(f"{shown} is not a run id (they look like 20261121-093015-a3f09c).")
    return run_id


@dataclass(frozen=True)
class Run:
    """What the store knows of one run, read at one moment."""

    id: str
    name: str
    created: str
    config: TrainConfig
    status: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    created_ns: int = 0
    learner: str | None = None  # the owner's display name when the run was made (runs.learners)

    @property
    def state(self) -> str:
        return self.status.get("state", "queued")

    @property
    def test_accuracy(self) -> float | None:
        return self.metrics.get("test_accuracy")

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def label(self) -> str:
        """Short text for pickers: name, units, state, accuracy."""
        accuracy = f" · {self.test_accuracy:.1%}" if self.test_accuracy is not None else ""
        details = "" if self.name == self.config.summary() else f" · {self.config.summary()}"
        return f"{self.name}{details} · {self.state}{accuracy}"


def unique_labels(runs: Iterable[Run], text: Callable[[Run], str] = Run.label) -> dict[str, str]:
    """Run id → ``text(run)`` (default: its ``label()``), unique among ``runs``: where two read the same,
    each gets its creation time (``06 Dec 03:29:42``), and where that still ties, its id's last six characters."""
    runs = builtins.list(runs)
    labels = {run.id: text(run) for run in runs}
    for suffix in (lambda run: _created_short(run.created), lambda run: f"#{run.id[-6:]}"):
        counts = Counter(labels.values())
        labels = {run.id: _with(labels[run.id], suffix(run), counts[labels[run.id]] > 1) for run in runs}
    return labels


def _with(label: str, suffix: str, needed: bool) -> str:
    return f"{label} · {suffix}" if needed else label


def _created_short(created: str) -> str:
    """``2026-12-06T03:29:42+00:00`` as ``06 Dec 03:29:42`` (UTC, as stored); the text itself if unreadable."""
    try:
        return datetime.fromisoformat(created).strftime("%d %b %H:%M:%S")
    except ValueError:
        return created


class RunStore:
    """Runs on disk; every method takes a run id and validates it first."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = paths.usable_folder(Path(root)) if root is not None else paths.runs_dir()

    # -- paths ------------------------------------------------------------
    def path(self, run_id: str) -> Path:
        folder = self.root / check_run_id(run_id)
        try:
            inside = folder.resolve().parent == self.root.resolve()  # belt and braces against links
        except (RuntimeError, OSError):  # a loop of links (RuntimeError in Python 3.11)
            inside = False
        if not inside:
            raise InvalidRunId(f"{run_id!r} points outside the run store.")
        return folder

    def model_path(self, run_id: str) -> Path:
        return self.path(run_id) / "model.keras"

    def logs_path(self, run_id: str) -> Path:
        return self.path(run_id) / "logs"

    # -- create, list, load -----------------------------------------------
    def create(
        self,
        config: TrainConfig,
        name: str | None = None,
        owner: str | None = None,
        on_staged: Callable[[Path], None] | None = None,
    ) -> Run:
        """Make a new run folder in state ``queued``; appears whole or not at all.

        ``owner`` is an opaque token of the browser session that asked (its runs are listed first).
        ``on_staged`` may add to the folder before it appears (an executor's liveness lock).
        The owner's display name, if they gave one (``LearnerStore``), is recorded with the run.
        """
        info: dict[str, Any] = {"name": clean_name(name or default_name(config)), "created": now_iso(), "owner": owner}
        info["learner"] = LearnerStore(self.root).name(owner)
        info["created_ns"] = time.time_ns()  # orders the training queue within one second
        staging = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            run_id = next(i for i in iter(new_run_id, None) if not (self.root / i).exists())
            staging = Path(tempfile.mkdtemp(prefix=f".{run_id}{atomic.TMP_MARK}", dir=self.root))
            atomic.write_json(staging / "run.json", {"id": run_id, **info, "config": config.to_dict()})
            atomic.write_json(staging / "status.json", {"state": "queued", "queued": info["created"]})
            atomic.write_bytes(staging / SPARE, bytes(SPARE_BYTES))
            if on_staged is not None:
                on_staged(staging)
            staging.chmod(0o755)
            os.rename(staging, self.root / run_id)  # fails rather than overwrite an existing run
        except OSError as exc:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            raise StoreUnwritable(
                f"Cannot save a new run in {self.root} ({exc.strerror or exc}). "
                f"Set {paths.HOME_ENV} to a folder with free space that you can write to."
            ) from None
        return self.load(run_id)

    def load(self, run_id: str) -> Run:
        """The run's description, status and final scores; RunNotFound, or DamagedRun naming the file."""
        folder = self.path(run_id)
        if not folder.is_dir():
            raise RunNotFound(f"Run {run_id} was not found.")
        with self._reading(run_id):
            info = stored.run_info(stored.read_json(folder / "run.json"), run_id)
            status = stored.status(stored.read_json(folder / "status.json"))
            if status["state"] in ACTIVE_STATES and folder in UNRECORDED:
                status = UNRECORDED[folder]  # its end could not be written: shown from memory
            metrics = self._optional(folder / "metrics.json", stored.metrics, {})
        name, created, owner, created_ns = info["name"], info["created"], info["owner"], info["created_ns"]
        return Run(run_id, name, created, info["config"], status, metrics, owner, created_ns, info["learner"])

    def list(self) -> builtins.list[Run]:
        """Every readable run, newest first; damaged or foreign folders are skipped with a warning."""
        if not self.root.is_dir():
            return []
        runs = []
        for entry in sorted(self.root.iterdir(), reverse=True):
            if entry.name.startswith("."):  # temporary files, the queue and slot folders
                continue
            if not RUN_ID_PATTERN.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
                log.warning("skipping %s: not a run folder", entry)
                continue
            try:
                runs.append(self.load(entry.name))
            except (RunNotFound, InvalidRunId) as exc:
                log.warning("skipping %s: %s", entry, exc)
        return sorted(runs, key=lambda run: (run.created_ns, run.id), reverse=True)

    def remove_leftovers(self, older_than: float = LEFTOVER_AGE) -> builtins.list[Path]:
        """Delete temporary files and folders a killed writer left behind (``atomic`` names them)."""
        if not self.root.is_dir():
            return []
        cutoff, removed = time.time() - older_than, []
        folders = [self.root, *(entry for entry in self.root.iterdir() if RUN_ID_PATTERN.fullmatch(entry.name))]
        for folder in folders:
            with contextlib.suppress(OSError):
                for entry in folder.iterdir():
                    if atomic.is_temporary(entry) and entry.lstat().st_mtime < cutoff:
                        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                        removed.append(entry)
        return removed

    # -- change -------------------------------------------------------------
    def rename(self, run_id: str, name: str) -> Run:
        folder = self.path(run_id)
        with self._reading(run_id):
            info = stored.read_json(folder / "run.json")
            stored.run_info(info, run_id)
        info["name"] = clean_name(name)
        atomic.write_json(folder / "run.json", info)
        return self.load(run_id)

    def delete(self, run_id: str, force: bool = False) -> None:
        """Remove a run; a queued or running one only with ``force``."""
        run = self.load(run_id)
        if run.is_active and not force:
            raise RunBusy(f"Run {run_id} is {run.state}; stop it before deleting it.")
        folder = self.path(run_id)
        trash = Path(tempfile.mkdtemp(prefix=f".{run_id}{atomic.TMP_MARK}deleted-", dir=self.root))
        os.replace(folder, trash / run_id)  # disappears from listings at once
        shutil.rmtree(trash, ignore_errors=True)

    def set_status(self, run_id: str, state: str, **fields: Any) -> dict[str, Any]:
        """Write the run's state; "failed" becomes the saved end when every result file is there and valid."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        folder = self.path(run_id)
        if state == "failed" and (saved := self.saved_end(run_id)) is not None:
            state, fields = saved
        try:
            status = self._optional(folder / "status.json", stored.status, {})
        except stored.Damage:
            status = {}  # a damaged status is replaced by the new one
        status.update(fields, state=state)
        status.setdefault(state, now_iso())
        atomic.write_json(folder / "status.json", status)
        UNRECORDED.pop(folder, None)
        return status

    def record_end(self, run_id: str, state: str, **fields: Any) -> bool:
        """Set an ended run's status. On a full disk the run's spare file is deleted to make room; if the
        store still cannot take it (full, read-only), this process remembers it and shows it from memory,
        and False says it is not on disk."""
        spare = self.path(run_id) / SPARE
        try:
            try:
                self.set_status(run_id, state, **fields)
            except OSError as exc:
                if exc.errno != errno.ENOSPC or not spare.exists():
                    raise
                spare.unlink()
                self.set_status(run_id, state, **fields)
        except OSError as exc:
            status = {**fields, "state": state, state: now_iso()}
            status["error"] = f"{fields.get('error', '')} (not saved: {exc.strerror or exc})".strip()
            UNRECORDED[self.path(run_id)] = status
            return False
        self.release_spare(run_id)  # ended: no status to write any more
        return True

    def release_spare(self, run_id: str) -> None:
        """Drop the room kept for the end status: the run has ended (whoever wrote its status)."""
        (self.path(run_id) / SPARE).unlink(missing_ok=True)

    def saved_end(self, run_id: str) -> tuple[str, dict[str, Any]] | None:
        """(state, status fields) of a run whose results were all saved, read from its metrics; else None."""
        folder = self.path(run_id)
        try:
            with self._reading(run_id):
                metrics = stored.metrics(stored.read_json(folder / "metrics.json"))
                stored.history(stored.read_json(folder / "history.json"))
            self.predictions(run_id)
            self.weights(run_id)
            if (
                not all((folder / name).is_file() for name in RESULT_FILES)
                or not self.model_path(run_id).stat().st_size
            ):
                return None
        except (RunStoreError, OSError):
            return None
        state = metrics["state"] if metrics.get("state") in ("finished", "stopped") else "finished"
        note = f"{state} (status recovered): its process ended while recording its end, after saving every result"
        return state, {"stop_reason": f"{metrics['stop_reason']}; {note}", "recovered": True}

    def problem(self) -> str | None:
        """Why new files cannot be saved in the store right now (full disk, read-only, no rights), or None."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root) as probe:
                probe.write(b"\0" * 4096)
                probe.flush()
        except OSError as exc:
            return f"The lab cannot save anything in {self.root} ({exc.strerror or exc})."
        return None

    # -- training artefacts -------------------------------------------------
    def write_history(self, run_id: str, epochs: builtins.list[dict[str, Any]]) -> None:
        atomic.write_json(self.path(run_id) / "history.json", epochs)

    def history(self, run_id: str) -> builtins.list[dict[str, Any]]:
        with self._reading(run_id):
            return self._optional(self.path(run_id) / "history.json", stored.history, [])

    def history_csv(self, run_id: str) -> str:
        """The per-epoch history as CSV text, one row per epoch."""
        columns = ("epoch", "fraction", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "cpu_seconds")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history(run_id))
        return out.getvalue()

    def write_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        atomic.write_json(self.path(run_id) / "progress.json", progress)

    def progress(self, run_id: str) -> dict[str, Any]:
        with self._reading(run_id):
            return self._optional(self.path(run_id) / "progress.json", stored.progress, {})

    def write_metrics(self, run_id: str, metrics: dict[str, Any]) -> None:
        atomic.write_json(self.path(run_id) / "metrics.json", metrics)

    def write_predictions(self, run_id: str, probabilities: np.ndarray, labels: np.ndarray) -> None:
        probabilities = np.asarray(probabilities, dtype=np.float32)  # (n, 10) softmax outputs
        labels = np.asarray(labels, dtype=np.uint8)  # (n,) true classes
        if probabilities.ndim != 2 or probabilities.shape != (len(labels), 10):
            raise ValueError(f"predictions must be (n, 10) for n labels, got {probabilities.shape}")
        save = lambda tmp: np.savez(tmp, probabilities=probabilities, labels=labels)  # noqa: E731
        atomic.write_with(self.path(run_id) / "predictions.npz", save, suffix=".npz")

    def predictions(self, run_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Test-set softmax outputs ``(n, 10)`` and true labels ``(n,)``."""
        missing = f"Run {run_id} has no predictions yet (it has not finished)."
        with self._reading(run_id):
            return stored.predictions(self._arrays(run_id, "predictions", missing))

    def write_weights(self, run_id: str, weights: builtins.list[np.ndarray]) -> None:
        """The Dense layers' arrays in ``model.get_weights()`` order, for ``forward.predict``."""
        arrays: dict[str, Any] = {f"w{i}": np.asarray(w, dtype=np.float32) for i, w in enumerate(weights)}
        atomic.write_with(self.path(run_id) / "weights.npz", lambda tmp: np.savez(tmp, **arrays), suffix=".npz")

    def weights(self, run_id: str) -> builtins.list[np.ndarray]:
        """The arrays ``write_weights`` stored: kernel, bias, kernel, bias … (at least one layer)."""
        missing = f"Run {run_id} has no weights file (it has not finished, or an older lab trained it)."
        config = self.load(run_id).config
        with self._reading(run_id):
            return stored.weights(self._arrays(run_id, "weights", missing), config)

    def write_epoch_snapshot(
        self, run_id: str, epoch: int, probabilities: np.ndarray, kernel: np.ndarray, bias: np.ndarray
    ) -> None:
        """Keep epoch ``epoch`` (from 1) as ``epochs/<epoch>.npz``, float16, one small file per epoch."""
        given = {"probabilities": probabilities, "kernel": kernel, "bias": bias}
        arrays: dict[str, Any] = {name: np.asarray(array, dtype=np.float16) for name, array in given.items()}
        stored.snapshot(arrays, int(epoch))  # what is written is what the loader accepts
        folder = self.path(run_id) / "epochs"
        folder.mkdir(exist_ok=True)
        save = lambda tmp: np.savez_compressed(tmp, **arrays)  # noqa: E731  (softmax zeros compress well)
        atomic.write_with(folder / f"{int(epoch)}.npz", save, suffix=".npz")

    def snapshot_epochs(self, run_id: str) -> builtins.list[int]:
        """The epochs with a snapshot, in order; empty for runs trained before snapshots existed."""
        folder = self.path(run_id) / "epochs"
        if not folder.is_dir():
            return []
        return sorted(int(entry.stem) for entry in folder.glob("*.npz") if EPOCH_FILE.fullmatch(entry.stem))

    def epoch_snapshot(self, run_id: str, epoch: int) -> EpochSnapshot:
        """Epoch ``epoch``'s snapshot, checked; RunNotFound if it is missing or damaged."""
        missing = f"Run {run_id} has no snapshot of epoch {epoch}."
        with self._reading(run_id):
            arrays = stored.snapshot(self._arrays(run_id, f"epochs/{int(epoch)}", missing), int(epoch))
        return EpochSnapshot(
            int(epoch), *(arrays[name].astype(np.float32) for name in ("probabilities", "kernel", "bias"))
        )

    def _arrays(self, run_id: str, what: str, missing: str) -> dict[str, np.ndarray]:
        """Every array in ``<what>.npz``; RunNotFound with ``missing`` if there is no such file."""
        try:
            return stored.read_arrays(self.path(run_id) / f"{what}.npz")
        except FileNotFoundError:
            raise RunNotFound(missing) from None

    @staticmethod
    @contextlib.contextmanager
    def _reading(run_id: str) -> Iterator[None]:
        """Turn a stored file's damage into one DamagedRun for this run."""
        try:
            yield
        except FileNotFoundError as exc:
            raise RunNotFound(f"Run {run_id} was not found ({Path(exc.filename or '').name} is missing).") from None
        except stored.Damage as exc:
            raise DamagedRun(f"This run's files are damaged: {exc}. Other runs are not affected.") from None

    def request_cancel(self, run_id: str) -> None:
        atomic.write_text(self.path(run_id) / "cancel", now_iso() + "\n")

    def cancel_requested(self, run_id: str) -> bool:
        return (self.path(run_id) / "cancel").exists()

    @staticmethod
    def _optional(path: Path, check: Callable[[Any], Any], default: Any) -> Any:
        """The checked content of an optional JSON file; ``default`` when it does not exist (yet)."""
        try:
            return check(stored.read_json(path))
        except FileNotFoundError:
            return default


def clean_name(name: str) -> str:
    """A display name: printable, one line, at most 80 characters."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(name)).split())[:MAX_NAME_LENGTH]
    if not text:
        raise ValueError("A run name needs at least one visible character.")
    return text


def default_name(config: TrainConfig) -> str:
    """Units, epochs and every setting that is not the default: ``128 units · 5 epochs · no ÷255``."""
    return config.summary()
