"""Ownership on the Train page: only the owner (or an instructor) sees Stop and Leave the queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.execution import ownership
from fmnist_lab.execution.contract import CANCELLED_IN_QUEUE
from fmnist_lab.ui import common, run_view
from fmnist_lab.ui.navigation import HOME, TRAIN
from tests.pages.test_pages import finished_run, open_page, texts


class Queue:
    """The executor seen by the pages, with no training processes: runs wait in line until cancelled."""

    def __init__(self) -> None:
        self.store = RunStore()

    def refresh(self) -> None:
        pass

    def queue_position(self, run_id: str) -> int:
        return 1

    def capacity(self) -> int:
        return 1

    def cancel(self, run_id: str) -> None:  # as the local executor does for a queued run
        self.store.set_status(run_id, "stopped", stop_reason=CANCELLED_IN_QUEUE)


@pytest.fixture
def queue(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Queue:
    fake = Queue()
    monkeypatch.setattr(common, "runs_executor", lambda: fake)
    monkeypatch.setattr(run_view, "runs_executor", lambda: fake)
    return fake


def queued_page(owner: str | None = None) -> tuple[AppTest, str]:
    """The Train page of a queued run; ``owner`` None: this session's."""
    app = open_page(HOME)
    run = RunStore().create(TrainConfig(), owner=owner or app.session_state["session_owner"])
    app.switch_page(TRAIN.file)
    app.query_params["run"] = run.id
    return app.run(), run.id


def has_button(app: AppTest, key: str) -> bool:
    return any(button.key == key for button in app.button)


def test_the_owner_can_leave_the_queue_and_the_page_says_what_happened(queue: Queue) -> None:
    app, run_id = queued_page()
    assert has_button(app, "train_unqueue")
    app.button(key="train_unqueue").click().run()
    app.run()  # the live view redraws the page once the run has ended
    assert not app.exception
    assert RunStore().load(run_id).state == "stopped"
    shown = texts(app)
    assert "This run ended without results." in shown and CANCELLED_IN_QUEUE in shown
    assert "press **Train** to start a new run" in shown
    assert not app.button(key="train_start").disabled


def test_someone_elses_queued_run_is_read_only(queue: Queue) -> None:
    app, run_id = queued_page(owner=ownership.owner_id("b" * 32))
    assert not app.exception
    assert not has_button(app, "train_unqueue")
    assert "Only the browser that started it, or an instructor, can stop it." in texts(app)
    assert not app.button(key="train_start").disabled  # another's run never blocks this learner
    assert RunStore().load(run_id).state == "queued"


def test_a_command_line_run_is_read_only_in_the_app(queue: Queue) -> None:
    app = open_page(TRAIN, run=RunStore().create(TrainConfig()).id)  # no owner: `python -m fmnist_lab train`
    assert not has_button(app, "train_unqueue")
    assert "started from the command line" in texts(app)


def test_an_instructor_may_take_anyones_run_out_of_the_queue(queue: Queue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ownership.INSTRUCTOR_ENV, "s3cret")
    now = [0.0]
    throttle = ownership.Throttle(clock=lambda: now[0])
    monkeypatch.setattr(common, "guess_throttle", lambda: throttle)
    app, run_id = queued_page(owner=ownership.owner_id("b" * 32))
    app.text_input(key="instructor_entry").input("wrong").run()
    assert not has_button(app, "train_unqueue") and "That is not the instructor key." in texts(app)
    assert any("That is not the instructor key." in w.value for w in app.sidebar.warning)  # not in the expander
    app.text_input(key="instructor_entry").input("s3cret").run()  # at once: slowed, even when right
    assert "Too many tries: wait 1 s before trying again." in texts(app) and "Instructor mode" not in texts(app)
    now[0] += 1.0
    app.text_input(key="instructor_entry").input("s3cret").run()
    assert app.session_state["instructor_entry"] == ""  # the secret is not left in the page
    assert "Instructor mode" in texts(app)
    app.button(key="train_unqueue").click().run()
    assert RunStore().load(run_id).state == "stopped"


def test_no_instructor_box_without_a_key(queue: Queue) -> None:
    app, _ = queued_page()
    assert not any(box.key == "instructor_entry" for box in app.text_input)


def test_the_owner_renames_and_markdown_stays_plain_text(app_env: Path) -> None:
    store = RunStore()
    app = open_page(HOME)
    run_id = finished_run(store, owner=app.session_state["session_owner"])
    app.switch_page(TRAIN.file)
    app.query_params["run"] = run_id
    app.run()
    app.text_input(key=f"train_rename_{run_id}").input("![pic](http://example.com/a.png) **mine**").run()
    app.button(key="train_rename_save").click().run()
    assert store.load(run_id).name == "![pic](http://example.com/a.png) **mine**"
    # each special escaped, and a word joiner (U+2060) in the bare address so that GFM does not link it
    assert app.subheader[0].value == r"\!\[pic\]\(http\:" "\u2060" r"//example\.com/a\.png\) \*\*mine\*\*"


def test_only_the_owner_sees_rename(app_env: Path) -> None:
    run_id = finished_run(RunStore())  # no owner
    app = open_page(TRAIN, run=run_id)
    assert not any(box.key == f"train_rename_{run_id}" for box in app.text_input)
