"""The Lessons page's glue: the step in the address, progress that survives a reload, the check's verdict.

Progress is kept on the server under the learner's owner id (``store.progress_store``), so a reload,
a new tab or another device with the same cookie finds it. The page address (``?lesson=4&done=1,2,3``)
still carries it too: an instructor can link a single step, and a link's ticks join the stored ones.
"""

from __future__ import annotations

import streamlit as st

from fmnist_lab.store.progress_store import Progress, ProgressStore
from fmnist_lab.store.runs import Run, RunStore, RunStoreError
from fmnist_lab.teaching import lessons
from fmnist_lab.teaching.lessons import LESSONS, Evidence, Lesson, Verdict
from fmnist_lab.teaching.links import parse_index, parse_index_list
from fmnist_lab.training.data import Dataset
from fmnist_lab.ui.navigation import TRAIN

LESSON_PARAM, DONE_PARAM = "lesson", "done"
PROGRESS_KEY = "lessons_progress"  # session state: (step, done) last shown
VERDICT_KEY = "lessons_verdict"  # session state: (step, run id, answer, verdict) of the last check
ANALYSABLE = ("finished", "stopped")


def progress(runs: RunStore, owner: str) -> tuple[int, frozenset[int]]:
    """(current step, steps answered right): the address's step, else this session's, else the stored one;
    the steps done in the address, this session and the store, together."""
    kept = _kept(runs, owner)
    saved_step, saved_done = st.session_state.get(PROGRESS_KEY, (kept.step, kept.done))
    step = parse_index(st.query_params.get(LESSON_PARAM), 1, len(LESSONS))
    linked = frozenset(parse_index_list(st.query_params.get(DONE_PARAM), 1, len(LESSONS)))
    in_range = frozenset(n for n in kept.done if n <= len(LESSONS))
    return step or min(saved_step, len(LESSONS)), linked | saved_done | in_range


def save_progress(runs: RunStore, owner: str, step: int, done: frozenset[int]) -> None:
    """Keep the progress in this session, the address and, when it changed, the learner's stored progress."""
    st.session_state[PROGRESS_KEY] = (step, done)
    st.query_params[LESSON_PARAM] = str(step)
    if done:
        st.query_params[DONE_PARAM] = ",".join(map(str, sorted(done)))
    else:
        st.query_params.pop(DONE_PARAM, None)
    if _kept(runs, owner) != Progress(step, done):
        try:
            ProgressStore(runs.root).save(owner, Progress(step, done))
        except (OSError, ValueError) as exc:  # an unwritable store: the session and the address still keep it
            st.caption(f"Your progress could not be saved on the server ({exc}); this tab keeps it.")


def _kept(runs: RunStore, owner: str) -> Progress:
    return ProgressStore(runs.root).get(owner) or Progress()


def step_picker(runs: RunStore, owner: str, step: int, done: frozenset[int]) -> int:
    """The steps in order, each ticked once answered right; returns the one chosen."""
    st.progress(len(done) / len(LESSONS), text=f"{len(done)} of {len(LESSONS)} steps answered right")
    st.session_state["lessons_step"] = step  # follow the address
    labels = {n: ("✓ " if n in done else "") + f"{n}. {LESSONS[n - 1].title}" for n in range(1, len(LESSONS) + 1)}
    return st.radio(
        "Step",
        list(labels),
        format_func=labels.__getitem__,
        key="lessons_step",
        on_change=lambda: save_progress(runs, owner, st.session_state["lessons_step"], done),
    )


def lesson_intro(number: int, lesson: Lesson) -> None:
    st.subheader(f"{number}. {lesson.title}")
    st.markdown(lesson.text)
    st.page_link(TRAIN.path, label="Set it up", icon=":material/tune:", query_params=lesson.params())
    seeds = f" over {lesson.repeats} seeds" if lesson.repeats > 1 else ""
    if lesson.pair is not None:
        st.page_link(
            TRAIN.path, label="Set up the other one", icon=":material/tune:", query_params=lesson.pair_params()
        )
        setups = f"{lesson.setup.summary()}, and {lesson.pair.summary()}"
        st.caption(f"Set-ups: {setups}{seeds}. Train both, then come back here and answer.")
    else:
        st.caption(f"Set-up: {lesson.setup.summary()}{seeds}. Train it, then come back here and answer.")


@st.cache_data(max_entries=32, show_spinner=False)
def _evidence(root: str, run_id: str, number: int, stamp: tuple[str, ...], _test: Dataset) -> Evidence:
    """The step's evidence; ``stamp`` (the run's state, the store's finished runs) is a new key when they change."""
    return lessons.gather(RunStore(root), run_id, LESSONS[number - 1].needs, (_test.x_test, _test.y_test))


def evidence_or_error(number: int, runs: RunStore, run: Run, dataset: Dataset) -> Evidence | None:
    """What the step's check reads, or None with the reason shown."""
    ready = tuple(other.id for other in runs.list() if other.state in ANALYSABLE)
    stamp = (f"{run.state} {run.status.get(run.state)}", *ready)
    try:
        return _evidence(str(runs.root), run.id, number, stamp, dataset)
    except RunStoreError as exc:
        st.error(f"**This run cannot be read.** {exc}")
        return None


def pick_run(runs: RunStore, current: str | None, owner: str) -> Run | None:
    """The run to answer from: finished ones, this session's first; the current run when it is one."""
    done = [run for run in runs.list() if run.state in ANALYSABLE and run.metrics]
    if not done:
        st.info("No finished run yet: press **Set it up**, train, and come back.")
        return None
    done.sort(key=lambda run: run.owner != owner)
    ids = [run.id for run in done]
    if st.session_state.get("lessons_run") not in ids:
        st.session_state["lessons_run"] = current if current in ids else ids[0]
    by_id = {run.id: run for run in done}
    chosen = st.selectbox("Your run", ids, format_func=lambda i: by_id[i].label(), key="lessons_run")
    return by_id[chosen]


def differences(lesson: Lesson, run: Run) -> list[str]:
    """The labels of the settings the step sets that the run does not have (of a pair, the nearer setup)."""
    setups = [lesson.setup] if lesson.pair is None else [lesson.setup, lesson.pair]
    missing = [
        [s.label for name, s, value in setup.differences() if getattr(run.config, name) != value] for setup in setups
    ]
    return min(missing, key=len)


def question(
    number: int, lesson: Lesson, runs: RunStore, run: Run, owner: str, done: frozenset[int], dataset: Dataset
) -> frozenset[int]:
    """The question, answered from ``run``, and the verdict once checked; returns the steps done."""
    if missing := differences(lesson, run):
        st.caption(f"This run differs from the step's set-up in: {', '.join(missing)}. You can still answer.")
    if (evidence := evidence_or_error(number, runs, run, dataset)) is None:
        return done
    if lesson.about is not None:
        st.markdown(lesson.about(evidence))
    answer = st.radio(lesson.question, lesson.options(evidence), index=None, key=f"lessons_answer_{number}")
    if st.button("Check", key="lessons_check", type="primary", disabled=answer is None):
        verdict = lesson.check(evidence, str(answer))
        st.session_state[VERDICT_KEY] = (number, run.id, answer, verdict)
        if verdict.right and number not in done:
            save_progress(runs, owner, number, done | {number})
            st.rerun()  # redraw the steps with this one ticked
    last = st.session_state.get(VERDICT_KEY)
    if last is not None and last[:3] == (number, run.id, answer):
        show_verdict(last[3])
    return done


def show_verdict(verdict: Verdict) -> None:
    if verdict.right:
        st.success(f"**Right.** {verdict.why}", icon=":material/check_circle:")
    else:
        st.error(f"**Not quite.** {verdict.why}", icon=":material/cancel:")
