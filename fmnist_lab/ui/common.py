"""What every page shares: set-up, the run store, the data set, the current run and the sidebar."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs

import streamlit as st

from fmnist_lab.execution import ownership
from fmnist_lab.execution.factory import Ruled, executor
from fmnist_lab.store import paths
from fmnist_lab.store.learners import MAX_LEARNER_LENGTH, BadLearnerName, LearnerStore
from fmnist_lab.store.notices import Notice, NoticeBoard
from fmnist_lab.store.runs import DamagedRun, InvalidRunId, Run, RunNotFound, RunStore, unique_labels
from fmnist_lab.teaching.lessons import LESSONS
from fmnist_lab.teaching.share import parse_setup, setup_params, shown
from fmnist_lab.training.data import DataError, Dataset, load_dataset
from fmnist_lab.ui import navigation
from fmnist_lab.ui.navigation import PAGES

RUN_PARAM = "run"  # ?run=<id> in the URL
CURRENT_KEY = "current_run"  # session state: the run this browser tab is looking at
OWNER_KEY = "session_owner"  # session state: the owner id this browser's runs carry
OWNER_COOKIE = "fmnist_owner"  # the browser keeps its random owner key here, across reloads and tabs
COOKIE_DAYS = 365
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")  # escaped with a backslash
# Where GFM finds a bare address (``https://…``, ``www.…``, ``me@host``) after escapes are undone: an invisible
# word joiner there keeps it text
BARE_ADDRESS = re.compile(r"(?<=:)(?=//)|(?i:(?<=www))(?=\.)|(?=@)")
WORD_JOINER = "\u2060"
INSTRUCTOR_KEY = "instructor"  # session state: True once the instructor's secret was entered
INSTRUCTOR_COOKIE = "fmnist_instructor"  # an HMAC token under the secret (ownership.instructor_token)
NOTICE_SECONDS = 2  # how often a page looks for the instructor's notice (read once a second server-wide)


SAFE_OPTIONS = {  # what .streamlit/config.toml sets, and why it matters on a shared server
    "server.enableXsrfProtection": (True, "cross-site request protection"),
    "client.showErrorDetails": ("none", "no tracebacks for learners"),
}
MAX_UPLOAD_MB = 2  # the pictures a learner uploads; .streamlit/config.toml's server.maxUploadSize


def safe_server_or_stop() -> None:
    """Serve nothing if the server started without the lab's settings (e.g. from another folder)."""
    wrong = [why for option, (value, why) in SAFE_OPTIONS.items() if st.get_option(option) != value]
    if st.get_option("server.address") is None:
        wrong.append("an address to listen on (unset, Streamlit listens on every network interface)")
    if st.get_option("server.maxUploadSize") > MAX_UPLOAD_MB:
        wrong.append(f"a {MAX_UPLOAD_MB} MB upload limit")
    if wrong:
        st.error(
            "**This lab server started without its safety settings** (" + "; ".join(wrong) + "). "
            "Stop it and start it with `./scripts/start.sh`, or run `streamlit run app.py` in the "
            "lab's folder, where `.streamlit/config.toml` is."
        )
        st.stop()


def store() -> RunStore:
    return RunStore()


def start_page(heading: str) -> tuple[RunStore, str | None]:
    """What every page does first: check the server, find the current run, draw the sidebar and title.

    The browser tab's title and icon were set by the entry point (``navigation.serve``).
    """
    safe_server_or_stop()
    try:
        runs = store()
    except paths.LabHomeError as exc:
        st.error(f"**The lab cannot use its folder.** {exc}, then restart the lab.")
        st.stop()
    st.fragment(_notice_banner, run_every=NOTICE_SECONDS)(str(runs.root))
    runs_executor().refresh()  # a run nothing works on any more shows as failed, on every page
    if problem := runs.problem():
        st.warning(
            f"**{problem}** Runs can be looked at, but not trained, until it has space again "
            f"(free some, or set {paths.HOME_ENV} to another folder and restart the lab)."
        )
    session_owner()
    current = current_run_id(runs)
    sidebar(runs, current)
    st.title(heading)
    return runs, current


@st.cache_resource(show_spinner="Loading Fashion-MNIST…")
def _cached_dataset() -> Dataset:
    # cache_resource, not cache_data: the arrays are read-only, so every session can
    # share one copy instead of unpickling 55 MB on each rerun.
    return load_dataset()


def _notice_banner(root: str) -> None:
    """The instructor's pushed step, if any, at the top of the page: plain text and a link."""
    if (notice := current_notice(root)) is None:
        return
    text, page, params = notice_link(notice)
    with st.container(border=True, key="instructor_notice"):
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(f":material/campaign: **Your instructor:** {plain(text)}")
        if page is not None:
            right.page_link(page, label="Set it up", icon=":material/arrow_forward:", query_params=params)


@st.cache_data(ttl=1, show_spinner=False)
def current_notice(root: str) -> Notice | None:
    # cache_data keyed by the store: one read a second for every open page of the server
    return NoticeBoard(root).current()


def notice_link(notice: Notice) -> tuple[str, Path | None, dict[str, str]]:
    """The banner's text and where its link goes: a lesson step's page, or the Train page with the
    setup re-read through ``parse_setup`` (only valid settings reach the link)."""
    if notice.step is not None:
        text = f"Step {notice.step} — {notice.title}"
        return (
            (text, navigation.LESSONS.path, {"lesson": str(notice.step)})
            if notice.step <= len(LESSONS)
            else (text, None, {})
        )
    shared = parse_setup(parse_qs(notice.setup or ""))
    return notice.title, navigation.TRAIN.path, setup_params(shared.config, shared.locked, shared.hidden)


def runs_executor() -> Ruled:
    """Where this server's trainings run (local worker processes, or a Ray cluster)."""
    return _server_executor(str(store().root))


@st.cache_resource(show_spinner=False)
def _server_executor(root: str) -> Ruled:
    # cache_resource: one per server process, so its warm workers live (and die) with the server
    return executor(RunStore(root), warm=True)


def session_owner() -> str:
    """The owner id of this browser: its runs are listed first (★), and only it may stop them.

    The random key lives in a cookie, so a reload or a new tab of the same browser keeps it;
    unlike a key in the address, a cookie does not travel with a shared link.
    """
    if OWNER_KEY not in st.session_state:
        key = st.context.cookies.get(OWNER_COOKIE)
        if not ownership.valid_key(key):
            key = ownership.new_key()
            _set_cookie(OWNER_COOKIE, key)
        st.session_state[OWNER_KEY] = ownership.owner_id(key)
    return st.session_state[OWNER_KEY]


def _set_cookie(name: str, value: str, days: int = COOKIE_DAYS) -> None:
    """Streamlit reads cookies but cannot set them: a one-line script in the page does (0 days: delete)."""
    cookie = f"{name}={value}; path=/; max-age={days * 86400}; SameSite=Strict"
    # In the sidebar: an element that appears on a session's first run only must not shift the main
    # area's elements, or Streamlit takes them for new ones (an open tab would fall back to the first).
    st.sidebar.html(f"<script>document.cookie = {cookie!r};</script>", unsafe_allow_javascript=True)


def plain(text: str) -> str:
    """``text`` (a run name) shown as typed in Markdown: no links, images, emphasis or colours.

    A backslash before each special character is not enough for a bare address: Streamlit's Markdown (GFM)
    links ``https://…`` and ``www.…`` in the text once escapes are undone, so a word joiner (U+2060,
    invisible) goes where the address would start to match.
    """
    return MARKDOWN_SPECIAL.sub(r"\\\1", BARE_ADDRESS.sub(WORD_JOINER, text))


def is_instructor() -> bool:
    """The instructor's secret was entered in this session, or in this browser before (its cookie)."""
    if INSTRUCTOR_KEY not in st.session_state:
        st.session_state[INSTRUCTOR_KEY] = ownership.is_instructor_token(st.context.cookies.get(INSTRUCTOR_COOKIE))
    return bool(st.session_state[INSTRUCTOR_KEY])


def may_stop(run: Run) -> bool:
    """Whether this browser may stop ``run`` or take it out of the queue."""
    return ownership.may_stop(run, session_owner(), is_instructor())


def instructor_login() -> None:
    """A password box in the sidebar when the host set an instructor key; the entry is never shown back."""
    if not ownership.instructor_enabled():
        return
    if st.session_state.pop("instructor_cookie_clear", False):
        _set_cookie(INSTRUCTOR_COOKIE, "", days=0)
    if is_instructor():
        if st.session_state.pop("instructor_cookie_due", False) and (token := ownership.instructor_token()):
            _set_cookie(INSTRUCTOR_COOKIE, token)  # a reload or a new tab of this browser stays an instructor
        st.caption(":material/school: Instructor mode: you may stop any run.")
        st.button("Leave instructor mode", key="instructor_leave", icon=":material/logout:", on_click=_leave_instructor)
        return
    if refusal := st.session_state.get("instructor_refused"):
        st.warning(refusal, icon=":material/lock:")  # outside the expander, which closes on the rerun
    with st.expander("Instructor", icon=":material/school:"):
        st.text_input(
            "Instructor key",
            type="password",
            key="instructor_entry",
            on_change=_check_instructor,
            help=f"The secret the host set in {ownership.INSTRUCTOR_ENV}; lets you stop any learner's run.",
        )


def learner_name_input(runs: RunStore) -> None:
    """The learner's display name, kept with this browser's owner id; new runs carry it."""
    learners, owner = LearnerStore(runs.root), session_owner()
    if "learner_name" not in st.session_state:
        st.session_state["learner_name"] = learners.name(owner) or ""
    st.text_input(
        "Your name (shown to your instructor)",
        key="learner_name",
        max_chars=MAX_LEARNER_LENGTH,
        on_change=_save_learner_name,
        args=(learners, owner),
        help="Your instructor's class view shows it beside your runs; runs you start from now on carry it.",
    )
    if problem := st.session_state.get("learner_name_problem"):
        st.caption(plain(problem))


def _save_learner_name(learners: LearnerStore, owner: str) -> None:
    entered, st.session_state["learner_name_problem"] = st.session_state.get("learner_name", ""), None
    try:
        if entered.strip():
            st.session_state["learner_name"] = learners.set(owner, entered)
        else:
            learners.clear(owner)
    except BadLearnerName as exc:
        st.session_state["learner_name_problem"] = str(exc)
    except OSError as exc:
        st.session_state["learner_name_problem"] = f"Your name could not be saved ({exc.strerror or exc})."


def _leave_instructor() -> None:
    st.session_state[INSTRUCTOR_KEY], st.session_state["instructor_cookie_clear"] = False, True


@st.cache_resource(show_spinner=False)
def guess_throttle() -> ownership.Throttle:
    """One for the server: every session's wrong guesses count against its limit."""
    return ownership.Throttle()


def _check_instructor() -> None:
    entered = st.session_state.get("instructor_entry", "")
    st.session_state["instructor_entry"] = ""  # never left in the page
    session = st.session_state.setdefault("instructor_session", ownership.new_key())  # this tab's throttle record
    throttle = guess_throttle()
    if not entered:
        return
    if wait := throttle.wait(session):
        st.session_state["instructor_refused"] = f"Too many tries: wait {wait} s before trying again."
        return
    right = ownership.is_instructor(entered)
    st.session_state[INSTRUCTOR_KEY] = st.session_state["instructor_cookie_due"] = right
    if right:
        throttle.succeeded(session)
    else:
        throttle.failed(session)
    st.session_state["instructor_refused"] = None if right else "That is not the instructor key."


def dataset_or_stop() -> Dataset:
    """The data set, or the how-to-get-it message and the end of this page."""
    try:
        return _cached_dataset()
    except DataError as exc:
        st.error(f"**The Fashion-MNIST data set is not available.**\n\n```\n{exc}\n```")
        st.stop()
        raise  # unreachable: st.stop() ends the script


def current_run_id(runs: RunStore) -> str | None:
    """The run in the URL if valid, else the session's; unknown ids get a visible note."""
    requested = st.query_params.get(RUN_PARAM)
    if requested is not None:
        if (problem := _problem(runs, requested)) is None:
            st.session_state[CURRENT_KEY] = requested
        else:
            st.warning(f"{problem} Pick a run in the sidebar, or train a new one.")
            del st.query_params[RUN_PARAM]
    current = st.session_state.get(CURRENT_KEY)
    if current is not None and current != requested and (problem := _problem(runs, current)) is not None:
        st.warning(f"{problem} Pick a run in the sidebar, or train a new one.")  # deleted or damaged since
        st.session_state.pop(CURRENT_KEY)
        current = None
    if current is not None and st.query_params.get(RUN_PARAM) != current:
        st.query_params[RUN_PARAM] = current  # so a copied link opens the same run
    return current


def set_current_run(run_id: str | None) -> None:
    if run_id is None:
        st.session_state.pop(CURRENT_KEY, None)
        st.query_params.pop(RUN_PARAM, None)
    else:
        st.session_state[CURRENT_KEY] = run_id
        st.query_params[RUN_PARAM] = run_id


def sidebar(runs: RunStore, current: str | None) -> None:
    """Page links (carrying the current run) and a run picker, the same on every page."""
    with st.sidebar:
        params = {RUN_PARAM: current} if current else None
        for page in PAGES:
            st.page_link(page.path, label=page.title, icon=page.icon, query_params=params)
        st.divider()
        learner_name_input(runs)
        instructor_login()
        stored = runs.list()
        if not stored:
            st.caption("No runs yet: train one on the Train page.")
            return
        mine = session_owner()
        stored.sort(key=lambda run: run.owner != mine)  # this session's runs first, each group newest first
        ids = [run.id for run in stored]
        unique = unique_labels(stored)  # two runs of one setup read apart (their time, then their id)
        labels = {run.id: ("★ " if run.owner == mine else "") + unique[run.id] for run in stored}
        st.session_state["sidebar_run"] = current if current in ids else None  # follow the current run
        st.selectbox(
            "Current run",
            ids,
            format_func=labels.__getitem__,
            placeholder="Pick a run…",
            key="sidebar_run",
            on_change=lambda: set_current_run(st.session_state["sidebar_run"]),
            help="The run the analysis pages show. Its id is in the page address, so a copied link opens it.",
        )


def _problem(runs: RunStore, run_id: str) -> str | None:
    """Why the run cannot be opened (not an id, gone, damaged), or None."""
    try:
        runs.load(run_id)
    except DamagedRun as exc:
        return f"Run `{run_id}` cannot be opened. {exc}"
    except (InvalidRunId, RunNotFound):
        return f"Run not found: `{shown(run_id)}`."
    return None
