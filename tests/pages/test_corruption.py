"""A corruption corpus: every stored file kind, damaged every way we know, against the store, `runs --json`
and every page.

One damaged run is one damaged run: it is skipped or explained, never a traceback, and the healthy
run beside it still lists and opens. The corpus is built once for the module (one xdist group, see
``XDIST_GROUPS`` in tests/conftest.py). Every case is read back through its own loader (the store) and
listed (`runs --json`, the listing pages); a page reaches a damaged file only through that loader's
``DamagedRun``, so each run-opening page opens one case per file kind, a different one per page
(``page_cases``), rather than all of them.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.cli import main
from fmnist_lab.store.runs import DamagedRun, RunNotFound
from fmnist_lab.ui.navigation import COMPARE, CONFUSION, GALLERY, HOME, PREDICTIONS, TRAIN
from tests.pages.test_pages import open_page

Damage = Callable[[Path], None]
Corpus = tuple[RunStore, str, dict[str, str]]  # the store, the healthy run's id, case → damaged run's id
JSON_FILES = ("run.json", "status.json", "metrics.json", "history.json", "progress.json")
ARRAY_FILES = ("predictions.npz", "weights.npz")


def write(text: str | bytes) -> Damage:
    data = text.encode() if isinstance(text, str) else text
    return lambda path: path.write_bytes(data)


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def linked(path: Path) -> None:
    path.unlink()
    path.symlink_to("/etc/passwd")


def edited(change: Callable[[object], object]) -> Damage:
    return lambda path: path.write_text(json.dumps(change(json.loads(path.read_text()))))


def arrays(**replacements: object) -> Damage:
    def damage(path: Path) -> None:
        with np.load(path) as stored:
            content = {name: stored[name] for name in stored.files}
        content |= {k: v for k, v in replacements.items() if v is not None}
        content = {k: v for k, v in content.items() if replacements.get(k, 0) is not None}
        np.savez(path, **content)

    return damage


EVERY_FILE = {
    "truncated": truncated,
    "empty": write(""),
    "garbage": write(b"\x00\xffnot what the lab wrote\x13"),
    "symlink": linked,
}
JSON_DAMAGE = {
    "list": write("[]"),
    "null": write("null"),
    "string": write('"x"'),
    "number": write("1"),
    "no keys": write("{}"),
    "NaN": write('{"state": NaN, "test_accuracy": NaN}'),
    "deep nesting": write("[" * 100_000 + "]" * 100_000),
    "huge": write("9" * 5_000_000),
}
SPECIFIC = {
    "run.json": {
        "config not an object": edited(lambda d: d | {"config": "x"}),
        "foreign id": edited(lambda d: d | {"id": "x"}),
    },
    "status.json": {
        "state a number": edited(lambda d: d | {"state": 3}),
        "error a list": edited(lambda d: d | {"error": []}),
    },
    "metrics.json": {
        "accuracy a string": edited(lambda d: d | {"test_accuracy": "x"}),
        "loss 1e308": edited(lambda d: d | {"test_loss": 1e308}),
        "missing keys": edited(lambda d: {"test_accuracy": d["test_accuracy"]}),
        "epochs a float": edited(lambda d: d | {"epochs_run": 1.5}),
    },
    "history.json": {
        "[{}]": write("[{}]"),
        "[1, 2]": write("[1, 2]"),
        "loss 1e308": edited(lambda d: [r | {"loss": 1e308} for r in d]),
        "loss a string": edited(lambda d: [r | {"loss": "low"} for r in d]),
    },
    "progress.json": {
        "epoch a string": edited(lambda d: d | {"epoch": "x"}),
        "trail of strings": edited(lambda d: d | {"trail": ["a", "b"]}),
    },
    "predictions.npz": {
        "9 columns": arrays(probabilities=np.full((10, 9), 0.1, np.float32), labels=np.zeros(10, np.uint8)),
        "float labels": arrays(labels=np.zeros(200, np.float32)),
        "label 10": arrays(labels=np.full(200, 10, np.uint8)),
        "0 rows": arrays(probabilities=np.zeros((0, 10), np.float32), labels=np.zeros(0, np.uint8)),
        "20,000 rows": arrays(probabilities=np.full((20_000, 10), 0.1, np.float32), labels=np.zeros(20_000, np.uint8)),
        "NaN": arrays(probabilities=np.full((200, 10), np.nan, np.float32)),
        "no labels": arrays(labels=None),
    },
    "weights.npz": {
        "wrong shape": arrays(w0=np.zeros((10, 10), np.float32)),
        "integers": arrays(w1=np.zeros(128, np.int64)),
        "infinite": arrays(w3=np.full(10, np.inf, np.float32)),
        "missing layer": arrays(w3=None),
    },
}


def cases() -> list[tuple[str, str, Damage]]:
    found = []
    for name in (*JSON_FILES, *ARRAY_FILES):
        kinds = EVERY_FILE | (JSON_DAMAGE if name.endswith(".json") else {}) | SPECIFIC[name]
        found += [(name, kind, damage) for kind, damage in kinds.items() if (name, kind) not in VALID]
    return found


VALID = {("history.json", "list"), ("progress.json", "no keys")}  # no epoch yet, no progress yet: not damage


CASES = cases()


@pytest.fixture(scope="module")
def corpus_home(tmp_path_factory: pytest.TempPathFactory, trained_runs_dir: Path) -> tuple[Path, str, dict[str, str]]:
    """A lab home with the trained runs plus one copy of the 128-unit run per case, each damaged its own way."""
    home = tmp_path_factory.mktemp("corruption")
    runs = shutil.copytree(trained_runs_dir, home / "runs")
    store = RunStore(runs)
    healthy = next(run for run in store.list() if run.config.hidden_units == (128,))
    (store.path(healthy.id) / "progress.json").write_text(json.dumps(store.progress(healthy.id)))
    damaged = {}
    for number, (name, kind, damage) in enumerate(CASES):
        run_id = f"20200101-000000-{number:06x}"
        shutil.copytree(store.path(healthy.id), runs / run_id)
        info = json.loads((runs / run_id / "run.json").read_text())
        (runs / run_id / "run.json").write_text(json.dumps(info | {"id": run_id}))
        damage(runs / run_id / name)
        damaged[f"{name}: {kind}"] = run_id
    (runs / "20200101-000000-ffffff").symlink_to(runs / healthy.id)  # a linked folder
    return home, healthy.id, damaged


@pytest.fixture
def corpus(corpus_home: tuple[Path, str, dict[str, str]], app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    """The module's corpus as this test's lab home: its store, the healthy run's id, case → damaged run id."""
    home, healthy, damaged = corpus_home
    monkeypatch.setenv("FMNIST_LAB_HOME", str(home))
    return RunStore(home / "runs"), healthy, damaged


def page_cases(damaged: dict[str, str], turn: int) -> dict[str, str]:
    """One case per file kind (so per loader), spread over that file's list by the page's ``turn``: the first
    page takes the first (generic) case, later pages reach into the JSON and file-specific ones."""
    by_file: dict[str, list[str]] = {}
    for case in damaged:
        by_file.setdefault(case.split(":")[0], []).append(case)
    chosen = [cases[turn * len(cases) // len(PAGES)] for cases in by_file.values()]
    return {case: damaged[case] for case in chosen}


def test_the_corpus_covers_every_file_kind() -> None:
    assert {name for name, _, _ in CASES} == {*JSON_FILES, *ARRAY_FILES}
    assert len(CASES) >= 80


def test_each_damaged_file_is_one_clear_error(corpus: Corpus) -> None:
    store, _, damaged = corpus
    for case, run_id in damaged.items():
        name = case.split(":")[0]
        reads = {
            "predictions.npz": lambda r=run_id: store.predictions(r),
            "weights.npz": lambda r=run_id: store.weights(r),
            "history.json": lambda r=run_id: store.history(r),
            "progress.json": lambda r=run_id: store.progress(r),
        }
        with pytest.raises(RunNotFound) as caught:
            reads.get(name, lambda r=run_id: store.load(r))()
        message = str(caught.value)
        assert isinstance(caught.value, DamagedRun) or "was not found" in message, case
        assert name in message or "was not found" in message, (case, message)


def test_runs_json_lists_every_readable_run_and_no_damaged_one(
    corpus: Corpus, capsys: pytest.CaptureFixture[str]
) -> None:
    store, healthy, damaged = corpus
    assert main(["runs", "--json"]) == 0
    listed = [json.loads(line)["run_id"] for line in io.StringIO(capsys.readouterr().out)]
    assert healthy in listed and len(listed) == len(set(listed))
    unreadable = {
        run_id for case, run_id in damaged.items() if case.split(":")[0] in ("run.json", "status.json", "metrics.json")
    }
    assert not unreadable & set(listed) and "20200101-000000-ffffff" not in listed


PAGES = (TRAIN, CONFUSION, PREDICTIONS, COMPARE)


def test_each_page_opens_one_case_of_every_file_kind_and_together_they_open_distinct_cases() -> None:
    damaged = {f"{name}: {kind}": str(number) for number, (name, kind, _) in enumerate(CASES)}
    chosen = [page_cases(damaged, turn) for turn in range(len(PAGES))]
    assert all({case.split(":")[0] for case in cases} == {*JSON_FILES, *ARRAY_FILES} for cases in chosen)
    assert len(set().union(*chosen)) == len(PAGES) * len(JSON_FILES + ARRAY_FILES)


@pytest.mark.parametrize("page", PAGES)
def test_no_page_raises_on_a_damaged_run(corpus: Corpus, page: str) -> None:
    _, healthy, damaged = corpus
    for case, run_id in page_cases(damaged, PAGES.index(page)).items():
        app = open_page(page, run=run_id)
        assert not app.exception, (case, app.exception)
        if case.split(":")[0] in ("run.json", "status.json", "metrics.json"):
            assert any("cannot be opened" in w.value or "not found" in w.value for w in app.warning), case
    app = open_page(page, run=healthy)
    assert not app.exception and not app.error  # the healthy run beside them opens as before


@pytest.mark.parametrize("page", [HOME, GALLERY])
def test_listing_pages_skip_damaged_runs(corpus: Corpus, page: str) -> None:
    app = open_page(page)
    assert not app.exception


def test_a_digit_that_is_not_ascii_is_damage_not_a_crash(isolated_lab: Path) -> None:
    store = RunStore()
    run = store.create(TrainConfig())
    info = json.loads((store.path(run.id) / "run.json").read_text())
    info["config"]["class_shares"] = {"²": 0.1}  # str.isdigit() says yes, int() says no
    (store.path(run.id) / "run.json").write_text(json.dumps(info))
    with pytest.raises(DamagedRun, match="run.json"):
        store.load(run.id)
    assert store.list() == []


@pytest.mark.parametrize("kind", ["flipped byte in a compressed member", "a bare .npy"])
def test_odd_array_files_are_damage(isolated_lab: Path, kind: str) -> None:
    store = RunStore()
    run = store.create(TrainConfig())
    path = store.path(run.id) / "predictions.npz"
    if kind == "a bare .npy":
        with open(path, "wb") as file:
            np.save(file, np.zeros((5, 10), np.float32))
    else:
        np.savez_compressed(path, probabilities=np.full((2000, 10), 0.1, np.float32), labels=np.zeros(2000, np.uint8))
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0xFF
        path.write_bytes(bytes(data))
    with pytest.raises(RunNotFound, match="predictions"):
        store.predictions(run.id)
