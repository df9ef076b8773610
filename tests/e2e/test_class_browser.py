"""A class in real browsers: the instructor's pushed step reaches another learner's page within 3 s and goes
when cleared; and the queue is fair between learners (three browsers, three owner cookies): one learner's
five runs do not hold back another learner's one.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from fmnist_lab.store.notices import NoticeBoard
from fmnist_lab.store.runs import Run, RunStore
from fmnist_lab.teaching.lessons import LESSONS

from .conftest import INSTRUCTOR_SECRET, lab_server, require_chromium
from .test_browser import TRAINING_TIMEOUT, assert_no_exception, choose, eventually, train_button

pytestmark = pytest.mark.e2e

require_chromium()

PUSH_SECONDS = 3  # the bound: a pushed step is on every learner's page within this
STEP = 3  # the lesson step pushed
TINY = "units=17&epochs=1&train=600&test=200"  # 17 units: no other browser test trains these


def enter_instructor_key(page: Page) -> None:
    """Unlock instructor mode from the sidebar, as an instructor does."""
    page.get_by_test_id("stSidebar").get_by_text("Instructor", exact=True).click()
    entry = page.get_by_label("Instructor key", exact=True).and_(page.locator("input"))
    entry.fill(INSTRUCTOR_SECRET)
    lab_server.interact(page, lambda: entry.press("Enter"))
    expect(page.get_by_test_id("stSidebar").get_by_text("Instructor mode: you may stop any run.")).to_be_visible()


def banner(page: Page):  # noqa: ANN201
    return page.locator(".st-key-instructor_notice")


def test_a_pushed_step_reaches_another_learner_within_3_s_and_goes_when_cleared(
    server: lab_server.LabServer, page: Page, browser: Browser
) -> None:
    NoticeBoard(server.runs_dir).clear()  # whatever an earlier test left
    learner = lab_server.new_page(browser)  # another browser: its own session and cookies
    try:
        lab_server.goto(learner, f"{server.url}/Train")
        expect(banner(learner)).to_have_count(0)

        lab_server.goto(page, f"{server.url}/Class")
        enter_instructor_key(page)
        lab_server.goto(page, f"{server.url}/Class")
        assert_no_exception(page)
        choose(page, "Step", f"{STEP}. {LESSONS[STEP - 1].title}")
        lab_server.interact(page, page.get_by_role("button", name="Show this step to everyone").click)
        expect(page.get_by_text(f"Every page shows now: Step {STEP} — {LESSONS[STEP - 1].title}")).to_be_visible()

        expect(banner(learner)).to_be_visible(timeout=PUSH_SECONDS * 1000)  # no reload: the page polls
        expect(banner(learner)).to_contain_text(f"Your instructor: Step {STEP} — {LESSONS[STEP - 1].title}")
        link = banner(learner).get_by_role("link", name="Set it up")
        expect(link).to_have_attribute("href", re.compile(rf"(^|/)Lessons\?lesson={STEP}$"))

        lab_server.interact(page, page.get_by_role("button", name="Clear it").click)
        expect(banner(learner)).to_have_count(0, timeout=PUSH_SECONDS * 1000)
    finally:
        learner.context.close()
        NoticeBoard(server.runs_dir).clear()


def queue_from_train(page: Page, store: RunStore, url: str, count: int) -> list[Run]:
    """Press Train on the page opened at ``url`` (already loaded); returns the ``count`` runs it queued."""
    before = {run.id for run in store.list()}
    lab_server.interact(page, train_button(page).click)
    assert_no_exception(page)
    new = [run for run in store.list() if run.id not in before]
    assert len(new) == count, (url, new)
    return sorted(new, key=lambda run: run.created_ns)


def started(store: RunStore, run: Run) -> datetime | None:
    """When the run's trainer marked it running (status.json), or None before it starts."""
    stamp = store.load(run.id).status.get("running")
    return datetime.fromisoformat(stamp) if stamp else None


def test_one_learners_single_run_starts_before_anothers_fifth(
    server: lab_server.LabServer, browser: Browser, store: RunStore
) -> None:
    """Learner A queues five runs (five clicks: five runs of one setup in one click would be one group,
    trained as one computation in one slot), then B and C one each: under the fair order B's and C's
    start before A's fifth (first come, first served would start all five of A's first)."""
    url = f"{server.url}/Train?{TINY}"
    learners = [lab_server.new_page(browser) for _ in range(3)]  # three contexts: three owner cookies
    try:
        for page in learners:
            lab_server.goto(page, url)  # ready to click
            assert_no_exception(page)
        a = []
        for _ in range(5):
            a += queue_from_train(learners[0], store, url, 1)
            lab_server.goto(learners[0], url)  # the setup link again: a new run, not the one just queued
        b, c = (queue_from_train(page, store, url, 1)[0] for page in learners[1:])
        assert len({run.owner for run in (a[0], b, c)}) == 3

        eventually(lambda: started(store, a[4]) is not None, TRAINING_TIMEOUT * 3, "learner A's fifth run to start")
        fifth = started(store, a[4])
        for other in (b, c):
            when = started(store, other)
            assert when is not None and when < fifth, (other.id, when, fifth)
    finally:
        for page in learners:
            page.context.close()
