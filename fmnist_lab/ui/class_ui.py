"""The Class page's parts: the instructor's gate, the class as it is now, and the step pushed to everyone.

The listing (every run read, places in line, progress) is done once per refresh for the whole server:
``class_snapshot`` is cached by the store's folder for ``REFRESH_SECONDS``, so ten open Class pages and
a projector cost one listing. Learners' names are shown in tables (plain text) or through ``plain``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd
import streamlit as st

from fmnist_lab.analysis import classroom
from fmnist_lab.charts.classroom import class_experiment_chart
from fmnist_lab.execution import ownership
from fmnist_lab.store.learners import LearnerStore
from fmnist_lab.store.notices import BadNotice, Notice, NoticeBoard
from fmnist_lab.store.runs import RunStore, RunStoreError
from fmnist_lab.teaching.lessons import LESSONS
from fmnist_lab.teaching.share import parse_setup, setup_params
from fmnist_lab.ui.common import current_notice, is_instructor, plain, runs_executor

REFRESH_SECONDS = 3  # the live view redraws this often; the listing behind it is shared for as long
PROJECTOR_PARAM = "projector"
PROJECTOR_CSS = """<style>
section[data-testid="stSidebar"], div[data-testid="stSidebarCollapsedControl"], header {display: none;}
.stMainBlockContainer, .stMarkdown p, .stCaption, .stDataFrame {font-size: 1.6rem !important;}
h1 {font-size: 3rem !important;} h2, h3 {font-size: 2.2rem !important;}
</style>"""


@dataclass(frozen=True)
class ClassSnapshot:
    active: list[classroom.ActiveRow]
    failures: list[classroom.Failure]
    without_result: list[str]
    experiment: classroom.ClassExperiment
    taken: str  # when, HH:MM:SS UTC


def require_instructor() -> None:
    """Stop the page for anyone but the instructor, saying how it is unlocked."""
    if is_instructor():
        return
    if ownership.instructor_enabled():
        st.info(
            "**The Class page is for the instructor.** Enter the instructor key in the sidebar "
            "(:material/school: Instructor) to open it."
        )
    else:
        st.info(
            "**The Class page is for the instructor.** This server has no instructor key: the host starts the "
            f"lab with `{ownership.INSTRUCTOR_ENV}` set to a secret, then enters it in the sidebar."
        )
    st.stop()


def projector_mode() -> bool:
    """``?projector=1``: large type and no sidebar, for the room's screen."""
    on = st.query_params.get(PROJECTOR_PARAM) == "1"
    if on:
        st.html(PROJECTOR_CSS)
    return on


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def class_snapshot(root: str) -> ClassSnapshot:
    # cache_data keyed by the store: one listing per refresh for every viewer on this server
    runs, executor = RunStore(root), runs_executor()
    stored = runs.list()
    active = classroom.active_table(stored, executor.queue_position, lambda i: _epoch(runs, i), datetime.now(UTC))
    without = classroom.learners_without_result(stored, LearnerStore(root).names())
    experiment = classroom.class_experiment(stored)
    taken = datetime.now(UTC).strftime("%H:%M:%S UTC")
    return ClassSnapshot(active, classroom.recent_failures(stored), without, experiment, taken)


def _epoch(runs: RunStore, run_id: str) -> tuple[int, int] | None:
    with contextlib.suppress(RunStoreError):
        if progress := runs.progress(run_id):
            return progress["epoch"], progress["epochs"]
    return None


def live(root: str, projector: bool) -> None:
    """The class now: who trains and waits, what failed, who has nothing yet, and what the class found."""
    snapshot = class_snapshot(root)
    st.caption(f"As of {snapshot.taken}; refreshes by itself every {REFRESH_SECONDS} s.")
    active_section(snapshot)
    if not projector:
        failures_section(snapshot)
        st.subheader("Learners with no finished run yet")
        names = snapshot.without_result
        st.markdown(", ".join(plain(name) for name in names) if names else "Everyone has a finished run.")
    experiment_section(snapshot, projector)


def active_section(snapshot: ClassSnapshot) -> None:
    st.subheader(f"Training and waiting: {len(snapshot.active)} runs")
    if not snapshot.active:
        st.caption("No run is training or waiting.")
        return
    table = pd.DataFrame([row.__dict__ for row in snapshot.active])
    table["waiting"] = table.pop("waiting_seconds").map(_minutes)
    table["position"] = table["position"].astype("Int64")  # a blank, not NaN, for a training run
    table = table.rename(columns={"position": "place in line"}).drop(columns="run_id")
    st.dataframe(table, hide_index=True, key="class_active")


def failures_section(snapshot: ClassSnapshot) -> None:
    st.subheader("Failed recently")
    if not snapshot.failures:
        st.caption("No run failed.")
        return
    table = pd.DataFrame([failure.__dict__ for failure in snapshot.failures]).drop(columns="run_id")
    st.dataframe(table, hide_index=True, key="class_failures")


def experiment_section(snapshot: ClassSnapshot, projector: bool) -> None:
    experiment = snapshot.experiment
    st.subheader("The class's experiment: 128 vs 1024")
    if not experiment.points:
        st.caption("No finished run of the classic setups yet (hidden units, epochs and ÷255; all else default).")
        return
    st.plotly_chart(class_experiment_chart(experiment, projector), key="class_chart")
    for comparison in experiment.verdicts:
        st.markdown(f"**{plain(comparison.label_a)} vs {plain(comparison.label_b)}:** {plain(comparison.verdict)}")
    if experiment.left_out:
        why = ", ".join(f"{plain(reason)} ({count})" for reason, count in experiment.left_out.items())
        st.caption(
            "Pooled: finished runs with every setting but units, epochs, ÷255 and seed at its default. "
            f"Left out: {why}."
        )


def push_control(root: str) -> None:
    """Push a lesson step or a setup to every learner's pages, or clear it."""
    board = NoticeBoard(root)
    st.subheader("Point the class at a step")
    if notice := board.current():
        st.markdown(f"Every page shows now: **{plain(_described(notice))}**")
        st.button("Clear it", key="class_clear", icon=":material/close:", on_click=_clear, args=(board,))
    step_tab, setup_tab = st.tabs(["A lesson step", "A setup link"])
    with step_tab:
        step = st.selectbox(
            "Step", range(1, len(LESSONS) + 1), format_func=lambda n: f"{n}. {LESSONS[n - 1].title}", key="class_step"
        )
        if st.button("Show this step to everyone", key="class_push_step", icon=":material/campaign:"):
            _push(board, Notice(LESSONS[step - 1].title, step=step))
    with setup_tab:
        link = st.text_input("A Train-page link or its settings", key="class_setup", placeholder="units=1024&epochs=30")
        if st.button("Show this setup to everyone", key="class_push_setup", icon=":material/campaign:"):
            _push_setup(board, link)


def _push_setup(board: NoticeBoard, link: str) -> None:
    shared = parse_setup(parse_qs(urlsplit(link.strip()).query or link.strip().lstrip("?")))
    for note in shared.notes:
        st.warning(f"Left out of the setup: {note}")  # notes echo only safe characters (share.shown)
    query = urlencode(setup_params(shared.config, shared.locked, shared.hidden))
    _push(board, Notice(shared.config.summary(), setup=query))


def _push(board: NoticeBoard, notice: Notice) -> None:
    try:
        board.push(notice)
    except (BadNotice, OSError) as exc:
        st.error(f"Could not show it to the class: {plain(str(exc))}")
        return
    current_notice.clear()  # every page sees it at its next look, not a second later
    st.rerun()


def _clear(board: NoticeBoard) -> None:
    board.clear()
    current_notice.clear()


def _described(notice: Notice) -> str:
    return f"Step {notice.step} — {notice.title}" if notice.step is not None else f"{notice.title} ({notice.setup})"


def _minutes(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:  # unknown (NaN after pandas)
        return ""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
