"""The instructor's notice: pushed, read back by a new board (a restart), cleared; damage reads as none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmnist_lab.store.notices import FILE, BadNotice, Notice, NoticeBoard


def test_a_step_survives_a_new_board_and_goes_when_cleared(tmp_path: Path) -> None:
    pushed = NoticeBoard(tmp_path).push(Notice("128 vs 1024", step=3))
    again = NoticeBoard(tmp_path).current()  # as a restarted server reads it
    assert again == pushed and (again.step, again.title, again.setup) == (3, "128 vs 1024", None)
    assert pushed.pushed  # stamped when pushed
    NoticeBoard(tmp_path).clear()
    assert NoticeBoard(tmp_path).current() is None
    NoticeBoard(tmp_path).clear()  # clearing nothing is fine


def test_a_setup_replaces_the_step(tmp_path: Path) -> None:
    board = NoticeBoard(tmp_path)
    board.push(Notice("128 vs 1024", step=3))
    board.push(Notice("1024 units · 30 epochs", setup="units=1024&epochs=30"))
    assert board.current() == Notice("1024 units · 30 epochs", None, "units=1024&epochs=30", board.current().pushed)


@pytest.mark.parametrize(
    ("title", "step", "setup"),
    [
        ("", 3, None),
        ("a\nb", 3, None),
        ("x" * 81, 3, None),
        ("t", None, None),
        ("t", 3, "units=1"),
        ("t", 0, None),
        ("t", True, None),
        ("t", None, "units=1024&x=<script>"),
        ("t", None, "a=" + "1" * 600),
    ],
)
def test_a_bad_notice_is_refused(title: str, step: object, setup: str | None) -> None:
    with pytest.raises(BadNotice):
        Notice(title, step, setup)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content", ["", "[]", "{", json.dumps({"title": "t"}), json.dumps({"title": "t", "step": "3"}), "null"]
)
def test_a_damaged_file_reads_as_no_notice(tmp_path: Path, content: str) -> None:
    (tmp_path / FILE).write_text(content)
    assert NoticeBoard(tmp_path).current() is None
