"""What a learner sees, in a real browser: their runs stay theirs across reloads, nobody else can stop
them, numbers fit a 1024-pixel laptop, runs differing in one setting have different names, and
Predictions without a run says what it needs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from fmnist_lab.config import TrainConfig
from fmnist_lab.execution import ownership
from fmnist_lab.store.runs import Run, RunStore

from .conftest import INSTRUCTOR_SECRET, lab_server, train_here
from .test_browser import (
    LIVE_EPOCHS,
    PATHS,
    TRAINING_TIMEOUT,
    assert_no_exception,
    assert_titled,
    choose,
    eventually,
    open_page,
    slide,
    start_run,
)

pytestmark = pytest.mark.e2e

# Every element under the metric cards that clips its text (an ellipsis) rather than showing it whole
CLIPPED = """() => [...document.querySelectorAll('[data-testid="stMetric"] *')]
  .filter((e) => e.children.length === 0 && e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent)"""


def stop_button(page: Page):  # noqa: ANN201
    return page.locator(".st-key-train_stop").get_by_role("button")


def sidebar_pick(page: Page):  # noqa: ANN201
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Current run")


def test_a_reload_and_a_new_tab_keep_the_star_and_stop_and_others_cannot_stop(
    server: lab_server.LabServer, page: Page, browser: Browser, store: RunStore
) -> None:
    open_page(page, server, "/Train")
    choose(page, "Hidden units", "32")
    slide(page, "Epochs", ["ArrowRight"] * (LIVE_EPOCHS - 5), LIVE_EPOCHS)
    run = start_run(page, store)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "fmnist_owner"]
    assert run.owner == ownership.owner_id(cookie["value"]) and cookie["value"] not in page.url
    expect(stop_button(page)).to_be_visible(timeout=TRAINING_TIMEOUT * 1000)

    lab_server.goto(page, f"{server.url}/Train?run={run.id}")  # a reload: a new Streamlit session
    expect(stop_button(page)).to_be_visible(timeout=30_000)
    expect(sidebar_pick(page)).to_have_value(re.compile("^★ "))
    tab = page.context.new_page()  # a new tab of the same browser
    lab_server.goto(tab, f"{server.url}/Train?run={run.id}")
    expect(stop_button(tab)).to_be_visible(timeout=30_000)
    tab.close()

    other = lab_server.new_page(browser)  # another learner's browser, given the link
    try:
        lab_server.goto(other, f"{server.url}/Train?run={run.id}")
        expect(other.get_by_text("Only the browser that started it, or an instructor, can stop it.")).to_be_visible()
        expect(other.locator(".st-key-train_stop")).to_have_count(0)
        expect(sidebar_pick(other)).not_to_have_value(re.compile("★"))
        assert store.load(run.id).is_active
    finally:
        other.context.close()

    stop_button(page).click()
    eventually(lambda: store.load(run.id).state == "stopped", 60, "the run to stop")


def test_an_instructor_stays_one_after_a_reload_until_leaving(server: lab_server.LabServer, page: Page) -> None:
    mode = page.get_by_test_id("stSidebar").get_by_text("Instructor mode: you may stop any run.")
    open_page(page, server, "/Train")
    page.get_by_test_id("stSidebar").get_by_text("Instructor", exact=True).click()
    entry = page.get_by_label("Instructor key", exact=True).and_(page.locator("input"))
    entry.fill(INSTRUCTOR_SECRET)
    lab_server.interact(page, lambda: entry.press("Enter"))
    expect(mode).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "fmnist_instructor"]
    assert INSTRUCTOR_SECRET not in cookie["value"]  # a token under the secret, not the secret
    lab_server.goto(page, f"{server.url}/Train")  # a reload: a new Streamlit session
    expect(mode).to_be_visible()
    lab_server.interact(page, page.get_by_role("button", name="Leave instructor mode").click)
    expect(mode).to_have_count(0)
    lab_server.goto(page, f"{server.url}/Train")
    expect(page.get_by_test_id("stSidebar").get_by_text("Instructor", exact=True)).to_be_visible()
    expect(mode).to_have_count(0)


def test_train_results_fit_a_1024_pixel_screen(
    server: lab_server.LabServer, browser: Browser, finished_runs: list[Run]
) -> None:
    run = finished_runs[0]
    laptop = lab_server.new_page(browser, 1024, 768)
    try:
        lab_server.goto(laptop, f"{server.url}/Train?run={run.id}")
        assert_no_exception(laptop)
        cards = laptop.get_by_test_id("stMetric")
        expect(cards).to_have_count(6)
        shown = {
            card.get_by_test_id("stMetricLabel").inner_text().strip(): card.get_by_test_id("stMetricValue").inner_text()
            for card in cards.all()
        }
        metrics = run.metrics
        assert shown["Test accuracy"] == f"{metrics['test_accuracy']:.2%}"
        assert shown["Test loss"] == f"{metrics['test_loss']:.3f}"
        assert shown["Parameters"] == f"{metrics['parameters']:,}"
        assert shown["Training time"] == f"{metrics['train_seconds']:.1f} s"
        assert laptop.evaluate(CLIPPED) == []  # the text is whole on screen, not cut with "…"
    finally:
        laptop.context.close()


# Every element of the page that clips its text (ellipsis or hidden overflow) and is too narrow for it
CUT = """() => [...document.querySelectorAll("[data-testid=stMain] *, [data-testid=stSidebar] *")].filter((e) => {
  const style = getComputedStyle(e);
  const clips = style.textOverflow === "ellipsis" || style.overflowX === "hidden" || style.overflow === "hidden";
  return clips && e.innerText?.trim() && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1;
}).map((e) => e.innerText.slice(0, 60))"""


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1920, 1080)])
def test_no_page_cuts_a_label_or_number_on_a_laptop_or_a_desktop_screen(
    server: lab_server.LabServer, browser: Browser, finished_runs: list[Run], width: int, height: int
) -> None:
    """Every page, at its address, opens with its title (``assert_titled``) and cuts no text."""
    screen = lab_server.new_page(browser, width, height)
    cut = {}
    try:
        for path in PATHS:
            lab_server.goto(screen, f"{server.url}{path}?run={finished_runs[0].id}")
            lab_server.wait_drawn(screen)
            assert_no_exception(screen)
            assert_titled(screen, path)
            cut |= {path: texts} if (texts := screen.evaluate(CUT)) else {}
    finally:
        screen.context.close()
    assert cut == {}


def test_predictions_without_a_run_says_what_your_own_picture_needs(server: lab_server.LabServer, page: Page) -> None:
    open_page(page, server, "/Predictions")
    page.get_by_role("tab", name="Your own picture").click()
    expect(page.get_by_text("Your own picture needs a trained run")).to_be_visible()
    page.get_by_role("tab", name="Softmax playground").click()
    expect(page.get_by_text("Sum of probabilities")).to_be_visible()


def test_runs_differing_only_in_scaling_have_different_names_everywhere(
    server: lab_server.LabServer, page: Page, store: RunStore
) -> None:
    pair = train_here(
        server, [TrainConfig(hidden_units=(24,), epochs=1, train_samples=3000, normalize=n) for n in (True, False)]
    )
    assert [run.state for run in pair] == ["finished"] * 2
    names = [r.name for r in pair]
    assert len(set(names)) == 2 and any("no ÷255" in name for name in names)

    open_page(page, server, "/Gallery")  # the sidebar's run picker
    box = sidebar_pick(page)
    box.focus()
    box.press("ArrowDown")  # opens the list from the keyboard, as choose() does
    expect(page.get_by_role("option").first).to_be_visible()
    listed = [text for text in page.get_by_role("option").all_inner_texts() if text.startswith("24 units ")]
    assert len(listed) == 2 and all(any(name in text for text in listed) for name in names), listed
    page.keyboard.press("Escape")

    # Compare's picker shows both names, as chosen chips or as options (the default pair may be other runs)
    open_page(page, server, "/Compare")
    picker = page.get_by_test_id("stMultiSelect")
    picker.get_by_role("combobox").focus()
    picker.get_by_role("combobox").press("ArrowDown")
    expect(page.get_by_role("option").first).to_be_visible()
    shown = [picker.inner_text(), *page.get_by_role("option").all_inner_texts()]
    assert all(any(name in text for text in shown) for name in names), shown


# Every data grid whose columns are wider than the grid: some scroll out of sight
HIDDEN_COLUMNS = """() => [...document.querySelectorAll("[data-testid=stDataFrame] .dvn-scroller")]
  .map((e) => e.scrollWidth - e.clientWidth).filter((hidden) => hidden > 1)"""


def stored_exercise(store: RunStore) -> list[str]:
    """The Bias lab's six runs as a finished exercise leaves them, with their names; made without training."""
    from fmnist_lab.analysis import compare
    from fmnist_lab.ui.bias_ui import NAME_PREFIX
    from tests.conftest import final_metrics

    labels = np.repeat(np.arange(10), 100)
    ids = []
    for share, config in enumerate(compare.bias_exercise(6, 0.1, 5)):
        run = store.create(config, f"{NAME_PREFIX}{config.summary()}")
        store.write_metrics(run.id, final_metrics())
        guesses = np.where((labels == 6) & (np.arange(1000) % 10 < share), 0, labels)  # some shirts missed
        store.write_predictions(run.id, np.eye(10, dtype=np.float32)[guesses] * 0.9 + 0.01, labels)
        store.set_status(run.id, "finished")
        ids.append(run.id)
    return ids


def test_the_bias_lab_table_shows_every_column_at_1280_pixels(server: lab_server.LabServer, browser: Browser) -> None:
    ids = stored_exercise(RunStore(server.runs_dir))
    screen = lab_server.new_page(browser, 1280, 800)
    try:
        lab_server.goto(screen, f"{server.url}/Bias_lab?exercise={','.join(ids)}")
        lab_server.wait_drawn(screen)
        assert_no_exception(screen)
        expect(screen.get_by_test_id("stDataFrame").first).to_be_visible()
        assert screen.evaluate(HIDDEN_COLUMNS) == []  # no column scrolled out of sight (TPR gap, FPR gap, ECE)
        assert screen.evaluate(CUT) == []
    finally:
        screen.context.close()


# The neuron mosaic's drawing area (Plotly's drag layer over the heatmap), in screen pixels
MOSAIC_WIDTH = """() => document.querySelector(".st-key-inside_grid .nsewdrag").getBoundingClientRect().width"""


def test_inside_neuron_pictures_are_70_pixels_wide_at_1280(
    server: lab_server.LabServer, browser: Browser, finished_runs: list[Run]
) -> None:
    from fmnist_lab.charts.inside import GRID_COLUMNS, TILE_GAP

    screen = lab_server.new_page(browser, 1280, 800)
    try:
        lab_server.goto(screen, f"{server.url}/Inside?run={finished_runs[0].id}")
        lab_server.wait_drawn(screen)
        assert_no_exception(screen)
        expect(screen.locator(".st-key-inside_grid .nsewdrag")).to_have_count(1)
        width = screen.evaluate(MOSAIC_WIDTH)
        columns = min(GRID_COLUMNS, finished_runs[0].config.hidden_units[0])
        assert width * 28 / (columns * (28 + TILE_GAP) - TILE_GAP) >= 70  # one picture's width on screen
    finally:
        screen.context.close()
