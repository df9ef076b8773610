"""The learners' names: checked, kept by owner id, carried into new runs, damage read as no names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.execution.ownership import new_key, owner_id
from fmnist_lab.store.learners import FILE, BadLearnerName, LearnerStore, learner_name

ANA, BEN = owner_id("a" * 32), owner_id("b" * 32)  # fixed: xdist workers must collect the same ids


@pytest.mark.parametrize(
    ("text", "kept"),
    [("Ana", "Ana"), ("  Ana Lima  ", "Ana Lima"), ("<b>Zoë</b> & co", "<b>Zoë</b> & co"), ("x" * 40, "x" * 40)],
)
def test_a_good_name_is_kept_as_typed(text: str, kept: str) -> None:
    assert learner_name(text) == kept


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "visible"),
        ("   ", "visible"),
        ("x" * 41, "at most 40"),
        ("a\nb", "printable"),
        ("a\x1b[31m", "printable"),
        ("tab\there", "printable"),
        ("zero\u200bwidth", "printable"),
        (7, "text"),
    ],
)
def test_a_bad_name_is_refused_with_the_reason(text: object, why: str) -> None:
    with pytest.raises(BadLearnerName, match=why):
        learner_name(text)


def test_names_are_kept_by_owner_and_survive_a_new_store(tmp_path: Path) -> None:
    LearnerStore(tmp_path).set(ANA, "Ana")
    LearnerStore(tmp_path).set(BEN, "Ben")
    LearnerStore(tmp_path).set(ANA, "Ana L.")
    assert LearnerStore(tmp_path).names() == {ANA: "Ana L.", BEN: "Ben"}
    LearnerStore(tmp_path).clear(BEN)
    assert LearnerStore(tmp_path).name(BEN) is None and LearnerStore(tmp_path).name(None) is None


def test_an_owner_key_is_never_stored(tmp_path: Path) -> None:
    key = new_key()
    with pytest.raises(BadLearnerName, match="owner id"):
        LearnerStore(tmp_path).set(key, "Ana")  # a raw key has the wrong shape: only digests are kept
    LearnerStore(tmp_path).set(owner_id(key), "Ana")
    assert key not in (tmp_path / FILE).read_text()


@pytest.mark.parametrize("content", ["", "[1, 2]", "{", '{"a": "b"}', "null"])
def test_a_damaged_file_reads_as_no_names(tmp_path: Path, content: str) -> None:
    (tmp_path / FILE).write_text(content)
    assert LearnerStore(tmp_path).names() == {}


def test_one_bad_entry_leaves_the_others(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text(json.dumps({ANA: "Ana", BEN: "x\ny", "not-an-owner": "Cy"}))
    assert LearnerStore(tmp_path).names() == {ANA: "Ana"}


def test_a_run_carries_its_learners_name_not_the_key(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    LearnerStore(tmp_path).set(ANA, "Ana")
    named, anonymous, cli = (store.create(TrainConfig(), owner=o) for o in (ANA, BEN, None))
    assert (named.learner, anonymous.learner, cli.learner) == ("Ana", None, None)
    LearnerStore(tmp_path).set(ANA, "Renamed later")
    assert store.load(named.id).learner == "Ana"  # recorded when the run was made
    assert json.loads((tmp_path / named.id / "run.json").read_text())["learner"] == "Ana"


def test_old_runs_without_a_learner_load_and_a_bad_one_is_damage(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run = store.create(TrainConfig())
    info = json.loads((tmp_path / run.id / "run.json").read_text())
    del info["learner"]
    (tmp_path / run.id / "run.json").write_text(json.dumps(info))
    assert store.load(run.id).learner is None
    (tmp_path / run.id / "run.json").write_text(json.dumps(info | {"learner": "a\x07b"}))
    with pytest.raises(Exception, match="learner"):
        store.load(run.id)
