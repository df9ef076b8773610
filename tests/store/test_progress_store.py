"""Lesson progress on the server: kept per owner id, read back checked, damage read as no progress."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fmnist_lab.execution.ownership import new_key, owner_id
from fmnist_lab.store.progress_store import FILE, Progress, ProgressStore

ANA, BEN = owner_id("a" * 32), owner_id("b" * 32)  # fixed: xdist workers must collect the same ids


def test_each_owner_keeps_their_own_progress(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path)
    assert store.get(ANA) is None
    store.save(ANA, Progress(4, frozenset({1, 2, 3})))
    store.save(BEN, Progress(2))
    assert store.get(ANA) == Progress(4, frozenset({1, 2, 3})) and store.get(BEN) == Progress(2, frozenset())
    assert json.loads((tmp_path / FILE).read_text())[ANA] == {"step": 4, "done": [1, 2, 3]}
    assert ProgressStore(tmp_path).get(ANA) == Progress(4, frozenset({1, 2, 3}))  # a new reader: from the file


@pytest.mark.parametrize(
    ("owner", "progress"), [("not-an-owner", Progress()), (ANA, Progress(0)), (ANA, Progress(101))]
)
def test_a_bad_owner_or_step_is_refused(tmp_path: Path, owner: str, progress: Progress) -> None:
    with pytest.raises(ValueError):
        ProgressStore(tmp_path).save(owner, progress)
    assert not (tmp_path / FILE).exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"text"'])
def test_a_damaged_file_reads_as_no_progress_with_a_log_line(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE).write_text(text)
    with caplog.at_level(logging.WARNING):
        assert ProgressStore(tmp_path).everyone() == {}
    assert "lessons' progress" in caplog.text
    ProgressStore(tmp_path).save(ANA, Progress(3))  # a save repairs it
    assert ProgressStore(tmp_path).everyone() == {ANA: Progress(3)}


def test_bad_entries_are_skipped_and_good_ones_kept(tmp_path: Path) -> None:
    entries = {
        ANA: {"step": 2, "done": [1]},
        BEN: {"step": True, "done": []},
        "x" * 24: {"step": 1, "done": []},
        owner_id(new_key()): {"step": 1, "done": [1, "2"]},
        owner_id(new_key()): [1],
    }
    (tmp_path / FILE).write_text(json.dumps(entries))
    assert ProgressStore(tmp_path).everyone() == {ANA: Progress(2, frozenset({1}))}
