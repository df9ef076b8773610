"""Two lessons walked in a real browser: set up, train small, answer wrong (a hint) then right (why), and find
the progress again after visiting the Train page and after a reload; and issue 29's walk: progress from a
link survives a reload of the Train page, kept on the server under the browser's owner cookie."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.runs import Run, RunStore
from fmnist_lab.teaching.lessons import LESSONS

from .conftest import lab_server, require_chromium
from .test_browser import TRAINING_TIMEOUT, assert_no_exception, choose, slide, start_run

pytestmark = pytest.mark.e2e

require_chromium()


def set_up_and_train(page: Page, server: lab_server.LabServer, store: RunStore, step: int) -> Run:
    """Press the step's Set it up link, shrink the training from the controls (32 units, 1 epoch, 3,000 images),
    train to the end; returns the run."""
    lab_server.interact(page, page.get_by_role("link", name="Set it up").click)
    expect(page.get_by_role("heading", level=1)).to_have_text("Train the course model")
    query = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    setup = LESSONS[step - 1].params()
    assert {key: query[key] for key in setup} == setup  # the link carried the step's setup
    choose(page, "Hidden units", "32")
    slide(page, "Epochs", ["Home"], 1)
    page.get_by_test_id("stExpander").get_by_text("Advanced").click()
    choose(page, "Training images", "3,000 (quick try)")
    run = start_run(page, store)
    expect(page.get_by_text("completed its 1 epoch")).to_be_visible(timeout=TRAINING_TIMEOUT * 1000)
    lab_server.wait_idle(page)
    return store.load(run.id)


def answer(page: Page, step: int, choice: str) -> None:
    radio = page.locator(f".st-key-lessons_answer_{step}")
    lab_server.interact(page, radio.get_by_text(choice, exact=True).click)
    lab_server.interact(page, page.locator(".st-key-lessons_check").get_by_role("button").click)
    assert_no_exception(page)


def verdict(page: Page) -> str:
    alert = page.get_by_test_id("stAlert").filter(has_text=re.compile("Right|Not quite"))
    expect(alert).to_have_count(1)
    return alert.inner_text()


def open_lessons_from_the_sidebar(page: Page, step: int) -> None:
    lab_server.interact(page, page.get_by_test_id("stSidebar").get_by_role("link", name="Lessons").click)
    expect(page.get_by_role("heading", level=3, name=re.compile(rf"^{step}\. "))).to_be_visible()


def test_two_lessons_set_up_train_answer_and_keep_progress(
    server: lab_server.LabServer, page: Page, store: RunStore
) -> None:
    lab_server.goto(page, f"{server.url}/Lessons?lesson=7")
    expect(page.get_by_role("heading", level=3)).to_have_text("7. Training vs test accuracy")

    # Step 7: training vs test accuracy, read from the run's metrics
    run = set_up_and_train(page, server, store, 7)
    assert run.config.epochs == 1 and run.config.hidden_units == (32,) and run.config.train_samples == 3000
    open_lessons_from_the_sidebar(page, 7)  # the session remembered the step
    right = "Yes" if run.metrics["train_accuracy"] > run.metrics["test_accuracy"] else "No"
    answer(page, 7, "No" if right == "Yes" else "Yes")
    assert "Not quite." in verdict(page) and f"{run.metrics['test_accuracy']:.1%}" not in verdict(page)  # a hint
    answer(page, 7, right)
    assert "Right." in verdict(page) and f"{run.metrics['test_accuracy']:.1%}" in verdict(page)
    expect(page).to_have_url(re.compile(r"done=7(&|$)"))

    # Step 9: bias, the worst-served class read from the run's predictions
    lab_server.interact(page, page.get_by_text("9. Bias and its fixes", exact=True).click)
    expect(page.get_by_role("heading", level=3)).to_have_text("9. Bias and its fixes")
    run = set_up_and_train(page, server, store, 9)
    assert run.config.class_shares == ((6, 0.1),)
    open_lessons_from_the_sidebar(page, 9)
    probabilities, labels = store.predictions(run.id)
    found = [np.mean(probabilities[labels == c].argmax(axis=1) == c) for c in range(10)]  # every class has images
    worst = CLASS_NAMES[int(np.argmin(found))]
    answer(page, 9, next(name for name in CLASS_NAMES if name != worst))
    assert "Not quite." in verdict(page) and worst not in verdict(page)  # a hint, not the answer
    answer(page, 9, worst)
    assert "Right." in verdict(page) and worst in verdict(page)

    # Progress survives a reload: both steps ticked
    expect(page).to_have_url(re.compile(r"done=7(%2C|,)9(&|$)"))
    page.reload()
    lab_server.wait_idle(page)
    expect(page.get_by_text("✓ 7. Training vs test accuracy")).to_be_visible()
    expect(page.get_by_text("✓ 9. Bias and its fixes")).to_be_visible()
    expect(page.get_by_text(f"2 of {len(LESSONS)} steps answered right")).to_be_visible()


def test_progress_survives_a_reload_of_another_page(server: lab_server.LabServer, page: Page) -> None:
    """Issue 29's walk: a link's progress, Set it up, reload the Train page, back to Lessons from the sidebar."""
    lab_server.goto(page, f"{server.url}/Lessons?lesson=4&done=1,2,3")
    expect(page.get_by_text(f"3 of {len(LESSONS)} steps answered right")).to_be_visible()
    lab_server.interact(page, page.get_by_role("link", name="Set it up").click)
    expect(page.get_by_role("heading", level=1)).to_have_text("Train the course model")
    page.reload()  # a new session: only the owner cookie carries over
    lab_server.wait_idle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Train the course model")
    open_lessons_from_the_sidebar(page, 4)
    expect(page.get_by_text(f"3 of {len(LESSONS)} steps answered right")).to_be_visible()
    for step in (1, 2, 3):
        expect(page.get_by_text(f"✓ {step}. {LESSONS[step - 1].title}", exact=True)).to_be_visible()
