"""The lab in a real browser: every page opens, a run trains and stops from the real controls, analysis works.

One server serves the session (see conftest.py); each test opens its own browser session.
Waits ask Streamlit whether its page script has finished, or poll the page, never sleep.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from fmnist_lab.analysis import compare
from fmnist_lab.config import CLASS_NAMES, TrainConfig
from fmnist_lab.store.runs import Run, RunStore
from fmnist_lab.ui.navigation import PAGES

from .conftest import PAGE_NAMES, ROOT, analysable, lab_server, require_chromium

pytestmark = pytest.mark.e2e

require_chromium()

TRAINING_TIMEOUT = 120  # seconds: a worker imports TensorFlow (~3 s) and compiles (~2 s) before the first epoch
LIVE_EPOCHS = 20  # on all 60,000 images about 1 s each: time to watch, move a slider and stop
TITLES = {
    "/": "fmnist-lab: learn by training",
    "/Train": "Train the course model",
    "/Confusion": "Where the model gets confused",
    "/Predictions": "What the model outputs",
    "/Compare": "Compare runs",
    "/Inside": "Inside the network",
}
PATHS = sorted({*TITLES, *(f"/{name}" for name in PAGE_NAMES)})  # a page added later is opened too
BY_ADDRESS = {page.address: page for page in PAGES}
# Every Plotly chart under ``selector`` as {"title", "traces"}; Plotly keeps a typed array's decoded values
# in ``_inputArray``, so x, y and z come back as plain (nested) lists.
FIGURES = """(selector) => {
  const plain = (v) => v == null ? null : v._inputArray ? plain(v._inputArray)
    : (Array.isArray(v) || ArrayBuffer.isView(v)) ? Array.from(v, plain) : v;
  return [...document.querySelectorAll(selector)].map((el) => ({
    title: el.layout?.title?.text ?? "",
    traces: el.data.map((t) => ({name: t.name ?? null, type: t.type, x: plain(t.x), y: plain(t.y), z: plain(t.z)})),
  }));
}"""
# Points of the "Training loss" trace in the live chart; -1 before it is drawn
TRAINING_LOSS_POINTS = """() => {
  const trace = [...document.querySelectorAll(".js-plotly-plot")].flatMap((el) => el.data ?? [])
    .find((t) => t.name === "Training loss");
  return trace ? trace.x.length : -1;
}"""


# -- helpers ---------------------------------------------------------------------------------------------------
def open_page(page: Page, server: lab_server.LabServer, path: str) -> None:
    lab_server.goto(page, server.url + path)
    assert_no_exception(page)


def assert_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def figures(page: Page, selector: str = ".js-plotly-plot") -> list[dict]:
    lab_server.wait_drawn(page)
    found = page.evaluate(FIGURES, selector)
    return [f | {"title": re.sub(r"<[^>]+>", "", f["title"])} for f in found]  # Streamlit wraps titles in <b>


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box ``label``: open its list from the keyboard, click the option.

    An open list closes as soon as anything scrolls under it, even by a pixel, so the box goes to
    mid-screen (on the tall viewport nothing needs to scroll at all) and the page is left to stop
    scrolling first. The keyboard opens it: a click while the page still moves may only focus it.
    """
    box = page.get_by_role("combobox", name=label)
    box.evaluate("(element) => element.scrollIntoView({block: 'center'})")
    lab_server.wait_still(page)
    box.focus()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    lab_server.interact(page, page.get_by_role("option", name=option, exact=True).click)
    expect(box).to_have_value(option)


def slide(page: Page, label: str, keys: list[str], value: int) -> None:
    """Move the slider ``label`` with the keyboard, as a user does with its thumb focused."""
    thumb = page.get_by_role("slider", name=label)
    thumb.focus()
    for key in keys:
        lab_server.interact(page, lambda key=key: thumb.press(key))
    expect(thumb).to_have_attribute("aria-valuetext", str(value))


def train_button(page: Page) -> Locator:
    return page.locator(".st-key-train_start").get_by_role("button")


def start_run(page: Page, store: RunStore) -> Run:
    """Click Train; returns the one run it created."""
    before = {run.id for run in store.list()}
    lab_server.interact(page, train_button(page).click)
    new = [run for run in store.list() if run.id not in before]
    assert len(new) == 1, new
    expect(page).to_have_url(re.compile(rf"[?&]run={new[0].id}"))
    return new[0]


def eventually(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``check`` (a look at files the worker writes) until it is true."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.2)


def wait_for_points(page: Page, more_than: int, timeout: float = TRAINING_TIMEOUT) -> int:
    """Wait until the live chart's training-loss trace has more than ``more_than`` points; returns how many."""
    page.wait_for_function(f"({TRAINING_LOSS_POINTS})() > {more_than}", timeout=timeout * 1000)
    return page.evaluate(TRAINING_LOSS_POINTS)


def png(path: Path) -> Path:
    picture = Image.new("L", (120, 160), 255)
    picture.paste(0, (30, 20, 90, 140))  # a dark garment on a light background
    picture.save(path)
    return path


def assert_titled(page: Page, path: str) -> None:
    """The page at ``path`` (its address in the list of pages) is the one open: its heading, its tab's
    title, the lab's sidebar; st.navigation's own menu hidden. Checked on every page by the screen test
    (``test_ux_browser``), which opens them all anyway."""
    title = page.get_by_role("heading", level=1)
    if path in TITLES:
        expect(title).to_have_text(TITLES[path])
    expect(title).to_be_visible()
    expect(page).to_have_title(f"{BY_ADDRESS[path].title} · fmnist-lab")  # set by the entry point, from the list
    expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Compare")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


# -- tests -----------------------------------------------------------------------------------------------------
def test_a_sidebar_link_opens_its_page_with_the_current_run(
    server: lab_server.LabServer, page: Page, finished_runs: list[Run]
) -> None:
    run = finished_runs[0]
    open_page(page, server, f"/Confusion?run={run.id}")
    lab_server.interact(page, page.get_by_test_id("stSidebar").get_by_role("link", name="Inside").click)
    expect(page).to_have_url(f"{server.url}/Inside?run={run.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inside the network")
    assert_no_exception(page)


def test_watch_a_run_learn_change_a_slider_and_stop(server: lab_server.LabServer, page: Page, store: RunStore) -> None:
    before = {run.id for run in store.list()}
    open_page(page, server, "/Train")
    choose(page, "Hidden units", "32")
    slide(page, "Epochs", ["ArrowRight"] * (LIVE_EPOCHS - 5), LIVE_EPOCHS)  # from the default, 5
    run = start_run(page, store)
    assert run.config == TrainConfig(hidden_units=(32,), epochs=LIVE_EPOCHS)
    expect(train_button(page)).to_be_disabled()

    first = wait_for_points(page, 0)
    seen = wait_for_points(page, first)  # the live chart gains points while it trains

    slide(page, "Epochs", ["ArrowLeft"], LIVE_EPOCHS - 1)  # a rerun mid-training: the run must go on
    assert [r.id for r in store.list() if r.is_active] == [run.id]
    assert store.load(run.id).state == "running"
    trained = len(store.history(run.id))
    eventually(lambda: len(store.history(run.id)) > trained, 60, "another epoch after the slider moved")
    wait_for_points(page, seen)
    expect(train_button(page)).to_be_disabled()

    page.locator(".st-key-train_stop").get_by_role("button").click()
    eventually(lambda: store.load(run.id).state == "stopped", 60, "the run to stop")
    expect(page.get_by_text("Why training ended")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stAlert").filter(has_text="Why training ended")).to_contain_text("stopped by request")
    assert_no_exception(page)
    assert store.load(run.id).metrics["epochs_run"] < LIVE_EPOCHS
    assert {r.id for r in store.list()} - before == {run.id}  # moving the slider started no second run


def test_a_quick_run_from_the_advanced_settings_trains_to_the_end(
    server: lab_server.LabServer, page: Page, store: RunStore
) -> None:
    open_page(page, server, "/Train")
    choose(page, "Hidden units", "32")
    slide(page, "Epochs", ["Home", "ArrowRight"], 2)
    page.get_by_test_id("stExpander").get_by_text("Advanced").click()
    choose(page, "Training images", "3,000 (quick try)")
    run = start_run(page, store)
    assert run.config == TrainConfig(hidden_units=(32,), epochs=2, train_samples=3000)

    expect(page.get_by_text("completed all 2 epochs")).to_be_visible(timeout=TRAINING_TIMEOUT * 1000)
    lab_server.wait_idle(page)
    assert_no_exception(page)
    finished = store.load(run.id)
    assert finished.state == "finished"
    accuracy = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
    expect(accuracy).to_contain_text(f"{finished.metrics['test_accuracy']:.2%}")
    (curves,) = figures(page)
    train_loss = next(t for t in curves["traces"] if t["name"] == "Training loss")
    assert train_loss["y"] == pytest.approx([record["loss"] for record in store.history(run.id)])


def test_confusion_heatmap_counts_every_test_image(
    server: lab_server.LabServer, page: Page, store: RunStore, finished_runs: list[Run]
) -> None:
    run = finished_runs[0]
    open_page(page, server, f"/Confusion?run={run.id}")
    heatmap = next(f for f in figures(page) if f["title"] == "Confusion matrix")
    z = np.array(heatmap["traces"][0]["z"])
    probabilities, labels = store.predictions(run.id)
    expected = np.zeros((10, 10), dtype=int)
    np.add.at(expected, (labels, probabilities.argmax(axis=1)), 1)  # rows: true class, columns: predicted
    assert z.sum() == len(labels) == 10_000
    np.testing.assert_array_equal(z, expected)


# Where the centre of the confusion cell (true t, predicted p) is on the screen
CELL_CENTRE = """([t, p]) => {
  const chart = [...document.querySelectorAll(".js-plotly-plot")]
    .find((el) => (el.layout?.title?.text ?? "").includes("Confusion matrix"));
  const x = chart._fullLayout.xaxis, y = chart._fullLayout.yaxis, box = chart.getBoundingClientRect();
  return [box.left + x._offset + x.l2p(p), box.top + y._offset + y.l2p(t)];
}"""


def test_clicking_a_confusion_cell_shows_the_images_behind_it(
    server: lab_server.LabServer, page: Page, store: RunStore, finished_runs: list[Run]
) -> None:
    run = finished_runs[0]
    probabilities, labels = store.predictions(run.id)
    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (labels, probabilities.argmax(axis=1)), 1)
    off_diagonal = np.where(np.eye(10, dtype=bool), 0, counts)
    # the smallest non-empty mix-up: not the most confused pair the boxes show first
    true, predicted = np.unravel_index(np.where(off_diagonal > 0, off_diagonal, 10**9).argmin(), counts.shape)
    assert off_diagonal[true, predicted] < off_diagonal.max()
    open_page(page, server, f"/Confusion?run={run.id}")
    lab_server.wait_drawn(page)
    x, y = page.evaluate(CELL_CENTRE, [int(true), int(predicted)])
    lab_server.interact(page, lambda: page.mouse.click(x, y))
    assert_no_exception(page)
    expect(page.get_by_text(f"{counts[true, predicted]} test images, most confident first")).to_be_visible()
    expect(page.get_by_role("combobox", name="True class")).to_have_value(CLASS_NAMES[true])
    expect(page.get_by_role("combobox", name="Predicted as")).to_have_value(CLASS_NAMES[predicted])


def test_predictions_softmax_bars_sum_to_one(
    server: lab_server.LabServer, page: Page, store: RunStore, finished_runs: list[Run]
) -> None:
    run = finished_runs[0]
    open_page(page, server, f"/Predictions?run={run.id}")
    expect(page.get_by_text("test image #0")).to_be_visible()
    (bars,) = figures(page, ".st-key-pred_bars .js-plotly-plot")
    heights = np.array(bars["traces"][0]["y"])
    assert heights.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(heights, store.predictions(run.id)[0][0], rtol=1e-6)


def test_own_picture_is_shown_as_the_model_sees_it(
    server: lab_server.LabServer, page: Page, finished_runs: list[Run], tmp_path: Path
) -> None:
    open_page(page, server, f"/Predictions?run={finished_runs[0].id}")
    page.get_by_role("tab", name="Your own picture").click()
    upload = page.locator(".st-key-pred_upload input[type='file']")
    lab_server.interact(page, lambda: upload.set_input_files(png(tmp_path / "shirt.png")), timeout=TRAINING_TIMEOUT)
    assert_no_exception(page)
    expect(page.get_by_text("what the model sees (28×28)")).to_be_visible()
    expect(page.get_by_text("Inverted: the background was light")).to_be_visible()
    (bars,) = figures(page, ".st-key-own_bars .js-plotly-plot")
    assert sum(bars["traces"][0]["y"]) == pytest.approx(1.0, abs=1e-5)


def test_a_file_that_is_no_picture_gets_a_message(
    server: lab_server.LabServer, page: Page, finished_runs: list[Run], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"this is not an image at all")
    open_page(page, server, f"/Predictions?run={finished_runs[0].id}")
    page.get_by_role("tab", name="Your own picture").click()
    lab_server.interact(page, lambda: page.locator(".st-key-pred_upload input[type='file']").set_input_files(notes))
    expect(page.get_by_test_id("stAlert").filter(has_text="That file cannot be used")).to_be_visible()
    assert_no_exception(page)
    expect(page.get_by_text("what the model sees (28×28)")).to_have_count(0)


def test_compare_shows_two_runs_side_by_side(
    server: lab_server.LabServer, page: Page, store: RunStore, finished_runs: list[Run]
) -> None:
    open_page(page, server, "/Compare")
    chosen = compare.default_selection(analysable(store))  # finished_runs made sure there are two or more
    shown = figures(page)
    by_class = next(f for f in shown if f["title"] == "Accuracy per class")
    assert [t["name"] for t in by_class["traces"]] == [f"{i + 1}: {store.load(r).name}" for i, r in enumerate(chosen)]
    for trace, run_id in zip(by_class["traces"], chosen, strict=True):
        probabilities, labels = store.predictions(run_id)
        right = probabilities.argmax(axis=1) == labels
        np.testing.assert_allclose(trace["y"], [right[labels == c].mean() for c in range(10)])
    difference = next(f for f in shown if f["title"].startswith("Confusion difference"))
    assert np.array(difference["traces"][0]["z"]).sum() == 0  # both runs classify the same 10,000 images


def test_the_epoch_slider_replays_the_confusion_matrix(
    server: lab_server.LabServer, page: Page, store: RunStore
) -> None:
    argv = [sys.executable, "-m", "fmnist_lab", "train", "--hidden-units", "16", "--epochs", "3"]
    argv += ["--train-samples", "600"]
    done = subprocess.run(argv, cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    run = next(run for run in store.list() if run.config.epochs == 3 and run.config.hidden_units == (16,))
    open_page(page, server, f"/Confusion?run={run.id}")
    final, labels = store.predictions(run.id)

    def shown() -> np.ndarray:
        return np.array(next(f for f in figures(page) if f["title"] == "Confusion matrix")["traces"][0]["z"])

    def counted(probabilities: np.ndarray) -> np.ndarray:
        expected = np.zeros((10, 10), dtype=int)
        np.add.at(expected, (labels, probabilities.argmax(axis=1)), 1)
        return expected

    np.testing.assert_array_equal(shown(), counted(final))
    slide(page, "After epoch", ["Home"], 1)
    np.testing.assert_array_equal(shown(), counted(store.epoch_snapshot(run.id, 1).probabilities))
    expect(page.get_by_text("after epoch 1 (replayed)")).to_be_visible()
    # Play steps on from epoch 1, one epoch a second, and stops at the finished run
    play = page.locator(f".st-key-confusion_epoch_{run.id}_play input")
    lab_server.interact(page, lambda: page.get_by_text("Play", exact=True).click())
    expect(page.get_by_text("after epoch 2 (replayed)")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("after the last epoch")).to_be_visible(timeout=15_000)
    expect(play).not_to_be_checked()
    expect(page.get_by_role("slider", name="After epoch")).to_have_attribute("aria-valuetext", "3")
    lab_server.wait_idle(page)
    np.testing.assert_array_equal(shown(), counted(final))
