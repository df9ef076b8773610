"""The per-owner JSON table under learners' names and lesson progress: kept, checked, locked, damage read as empty."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from fmnist_lab.store.owner_table import OwnerTable, owner_id

OWNERS = [f"{n:024x}" for n in range(1, 25)]


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("a count is a whole number from 0")
    return value


def _table(root: Path) -> OwnerTable[int]:
    return OwnerTable(root, ".counts.json", "the counts", _count)


def test_entries_are_kept_by_owner_in_one_json_object(tmp_path: Path) -> None:
    table = _table(tmp_path)
    table.put(OWNERS[0], 3)
    table.put(OWNERS[1], 5)
    table.put(OWNERS[0], 4)
    assert json.loads((tmp_path / ".counts.json").read_text()) == {OWNERS[0]: 4, OWNERS[1]: 5}
    assert _table(tmp_path).get(OWNERS[0]) == 4 and _table(tmp_path).get(None) is None
    table.remove(OWNERS[0])
    assert _table(tmp_path).entries() == {OWNERS[1]: 5}


@pytest.mark.parametrize("owner", ["", "ABCDEF0123456789abcdef01", "0" * 23, "0" * 25, "../" + "0" * 21, 7])
def test_an_owner_id_this_lab_could_not_make_is_refused(tmp_path: Path, owner: Any) -> None:
    with pytest.raises(ValueError, match="owner id"):
        owner_id(owner)
    with pytest.raises(ValueError, match="owner id"):
        _table(tmp_path).put(owner, 1)
    assert not (tmp_path / ".counts.json").exists()


def test_an_entry_that_would_not_read_back_is_refused_before_writing(tmp_path: Path) -> None:
    table = _table(tmp_path)
    table.put(OWNERS[0], 1)
    with pytest.raises(ValueError, match="whole number"):
        table.put(OWNERS[1], -1)
    assert _table(tmp_path).entries() == {OWNERS[0]: 1}


@pytest.mark.parametrize("text", ["{", "[1, 2]", '"x"', "\x00\xff", ""])
def test_a_damaged_file_reads_as_empty_with_a_warning(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".counts.json").write_text(text)
    with caplog.at_level(logging.WARNING):
        assert _table(tmp_path).entries() == {}
    assert "the counts" in caplog.text
    _table(tmp_path).put(OWNERS[0], 2)  # and the next write mends it
    assert _table(tmp_path).entries() == {OWNERS[0]: 2}


def test_bad_entries_are_dropped_and_the_rest_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = {OWNERS[0]: 1, OWNERS[1]: "two", "not-an-owner": 3, OWNERS[2]: True}
    (tmp_path / ".counts.json").write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        assert _table(tmp_path).entries() == {OWNERS[0]: 1}
    assert caplog.text.count("skipping an entry") == 3


def test_owners_writing_at_once_all_keep_their_entries(tmp_path: Path) -> None:
    start = threading.Barrier(len(OWNERS))

    def write(owner: str) -> None:
        start.wait()
        for count in range(5):
            _table(tmp_path).put(owner, count)

    threads = [threading.Thread(target=write, args=(owner,)) for owner in OWNERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _table(tmp_path).entries() == {owner: 4 for owner in OWNERS}
    assert (tmp_path / ".counts.lock").exists()


def test_the_file_name_starts_with_a_dot_so_the_run_listing_skips_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dot"):
        OwnerTable(tmp_path, "counts.json", "the counts", _count)
