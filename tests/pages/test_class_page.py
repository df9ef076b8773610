"""The Class page through AppTest: three learners with mixed runs, the instructor's gate, a pushed step."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.execution import ownership
from fmnist_lab.store.learners import LearnerStore
from fmnist_lab.store.notices import NoticeBoard
from fmnist_lab.ui import class_ui, common
from fmnist_lab.ui.navigation import CLASS, GALLERY
from tests.pages.test_pages import finished_run, open_page, texts

CLASS_PAGE = CLASS
OTHER_PAGE = GALLERY
SECRET = "s3cret"
ANA, BEN, CY = (ownership.owner_id(c * 32) for c in "abc")
NAMES = {ANA: "Ana", BEN: "<b>Ben</b> & co", CY: "Cy [x](javascript:alert(1))"}


class Line:
    """The executor the pages see, with no training processes: queued runs wait at fixed places."""

    def __init__(self) -> None:
        self.store, self.places = RunStore(), {}

    def refresh(self) -> None:
        pass

    def queue_position(self, run_id: str) -> int | None:
        return self.places.get(run_id)


@pytest.fixture
def klass(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Three named learners: Ana trains one run and waits for two, Ben waits for one, Cy's run failed;
    Ana and Ben each finished a run of the classic pair, Cy finished nothing."""
    monkeypatch.setenv("FMNIST_INSTRUCTOR_KEY", SECRET)
    line = Line()
    monkeypatch.setattr(common, "runs_executor", lambda: line)
    monkeypatch.setattr(class_ui, "runs_executor", lambda: line)
    store = RunStore()
    for owner, name in NAMES.items():
        LearnerStore(store.root).set(owner, name)
    runs = {"ana_running": store.create(TrainConfig(hidden_units=(1024,), epochs=10), owner=ANA).id}
    store.set_status(runs["ana_running"], "running")
    store.write_progress(runs["ana_running"], {"epoch": 3, "epochs": 10, "batch": 5, "steps": 100})
    for key, owner in (("ana_1", ANA), ("ben_1", BEN), ("ana_2", ANA)):
        runs[key] = store.create(TrainConfig(), owner=owner).id
        line.places[runs[key]] = len(line.places) + 1
    runs["cy_failed"] = store.create(TrainConfig(), owner=CY).id
    store.set_status(runs["cy_failed"], "failed", error="out of memory")
    runs["ana_done"] = finished_run(store, ANA, hidden_units=(128,), epochs=5)
    runs["ben_done"] = finished_run(store, BEN, hidden_units=(1024,), epochs=5)
    return runs


def class_page(instructor: bool = True, **query: str) -> AppTest:
    app = open_page(CLASS_PAGE, **query)
    if instructor:
        app.text_input(key="instructor_entry").input(SECRET).run()
    return app


def test_the_instructor_sees_every_active_run_with_its_learner(klass: dict[str, str]) -> None:
    app = class_page()
    assert not app.exception
    active = app.dataframe[0].value.to_dict("records")
    place = lambda row: None if pd.isna(row["place in line"]) else int(row["place in line"])  # noqa: E731
    assert [(row["learner"], row["state"], row["epoch"], place(row)) for row in active] == [
        ("Ana", "running", "3/10", None),
        ("Ana", "queued", "", 1),
        (NAMES[BEN], "queued", "", 2),  # the name as typed: a table cell is plain text
        ("Ana", "queued", "", 3),
    ]
    assert active[0]["setup"] == "1024 units · 10 epochs"
    failures = app.dataframe[1].value.to_dict("records")
    assert [(row["learner"], row["error"]) for row in failures] == [(NAMES[CY], "out of memory")]
    shown = texts(app)
    assert "Cy \\[x\\]\\(javascript\\:alert\\(1\\)\\)" in shown  # no finished run; escaped, never a link
    assert "Training and waiting: 4 runs" in [header.value for header in app.subheader]
    assert "One run each" in shown  # the verdict of 128 vs 1024, one run a side
    (chart,) = app.get("plotly_chart")
    hover = json.loads(chart.proto.spec)["data"][0]["hovertext"]
    assert hover[1].startswith("&lt;b&gt;Ben&lt;/b&gt; &amp; co ·")  # Plotly would render <b> as HTML


def test_anyone_else_is_told_how_to_unlock_it(klass: dict[str, str]) -> None:
    app = class_page(instructor=False)
    assert not app.exception and not app.dataframe
    assert "The Class page is for the instructor" in texts(app) and "Instructor" in texts(app)


def test_a_pushed_step_appears_on_another_page_and_goes_when_cleared(klass: dict[str, str]) -> None:
    teacher = class_page()
    teacher.selectbox(key="class_step").select(3).run()
    teacher.button(key="class_push_step").click().run()
    assert NoticeBoard(RunStore().root).current().step == 3
    learner = open_page(OTHER_PAGE)
    banner = [m.value for m in learner.markdown if "Your instructor" in m.value]
    assert banner and "Step 3 — " in banner[0]
    (link,) = [link for link in learner.get("page_link") if link.proto.label == "Set it up"]
    assert link.proto.page.endswith("Lessons") or "9_Lessons" in link.proto.page
    teacher.button(key="class_clear").click().run()
    assert NoticeBoard(RunStore().root).current() is None
    learner.run()
    assert not [m.value for m in learner.markdown if "Your instructor" in m.value]


def test_a_setup_link_is_pushed_with_only_its_valid_settings(klass: dict[str, str]) -> None:
    teacher = class_page()
    teacher.text_input(key="class_setup").input("http://lab/Train?units=1024&epochs=30&dropout=<b>").run()
    teacher.button(key="class_push_setup").click().run()
    notice = NoticeBoard(RunStore().root).current()
    assert (notice.title, notice.setup) == ("1024 units · 30 epochs", "units=1024&epochs=30")
    learner = open_page(OTHER_PAGE)
    assert any("Your instructor:** 1024 units · 30 epochs" in m.value for m in learner.markdown)


def test_projector_mode_has_large_type_no_sidebar_and_no_controls(klass: dict[str, str]) -> None:
    app = class_page(projector="1")
    assert not app.exception
    assert any("stSidebar" in html.proto.body for html in app.get("html"))
    assert not any(button.key == "class_push_step" for button in app.button)
    assert app.dataframe[0].value["learner"].tolist()[0] == "Ana"


def test_a_learner_names_themselves_in_the_sidebar_and_their_new_runs_carry_it(klass: dict[str, str]) -> None:
    learner = open_page(OTHER_PAGE)
    owner = learner.session_state["session_owner"]
    learner.text_input(key="learner_name").input("Dee\x07").run()
    assert "printable" in texts(learner) and LearnerStore(RunStore().root).name(owner) is None
    learner.text_input(key="learner_name").input("  Dee  ").run()
    assert LearnerStore(RunStore().root).name(owner) == "Dee" and learner.text_input(key="learner_name").value == "Dee"
    assert RunStore().create(TrainConfig(), owner=owner).learner == "Dee"
