"""Hostile run names in a real browser: a name is plain text on every page that shows it.

Anyone can name a run, and anyone can put any run on their own pages (``?run=``, ``?exercise=``,
Compare's picker). The names below are what the review tried: a link, a styled span, bare addresses
(which Markdown turns into links), a Markdown image and a Markdown link. On each page, none of them
may become a live link, an image or 90-pixel text; each must read as typed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from fmnist_lab.config import TrainConfig
from fmnist_lab.store.groups import seed_series
from fmnist_lab.store.runs import Run, RunStore

from .conftest import lab_server, require_chromium, train_here
from .test_browser import assert_no_exception

pytestmark = pytest.mark.e2e

require_chromium()

HOSTILE = (
    '<a href="https://evil.example">x</a>',
    '<span style="font-size:90px;color:red">BIG</span>',
    "https://evil.example",
    "www.evil.example",
    "![x](https://evil.example/i.png)",
    "[click](https://evil.example)",
)
# Three runs carry them, two to a name (each name within the store's 80 characters): a page is checked once
# per run, not once per attack; a link, an address and a Markdown image or link each sit mid-name somewhere
NAMES = tuple(f"{HOSTILE[a]} {HOSTILE[b]}" for a, b in ((0, 2), (1, 3), (4, 5)))
UNITS = 19  # hidden units no other browser test trains
# What a hostile name may have become: {links, images, huge} — a link to evil.example (HTML's href, or SVG's
# xlink:href as Plotly writes it), an image from it (HTML or SVG), any element drawn in a 90-pixel font.
# A heading's own anchor (``#a-href-https-evil-example-x-a``) stays on the page: its host is the lab's.
INJECTED = """() => {
  const XLINK = "http://www.w3.org/1999/xlink";
  const host = (url) => { try { return new URL(url, location.href).hostname; } catch { return url; } };
  const target = (e, name) => host(e.getAttribute(name) || e.getAttributeNS(XLINK, "href") || "").includes("evil");
  const all = [...document.querySelectorAll("*")];
  return {
    links: [...document.querySelectorAll("a")].filter((e) => target(e, "href")).map((e) => e.outerHTML),
    images: [...document.querySelectorAll("img, image")].filter((e) => target(e, "src") || target(e, "href"))
      .map((e) => e.outerHTML),
    huge: all.filter((e) => getComputedStyle(e).fontSize === "90px").map((e) => e.outerHTML.slice(0, 200)),
  };
}"""
# Every piece of text on the page, SVG (Plotly's legends and titles) included, as the reader sees it: without
# the invisible word joiners (U+2060) that keep Markdown from linking a bare address (``ui.common.plain``)
TEXT = """() => document.querySelector("[data-testid=stMain]").textContent.replaceAll("\\u2060", "")"""


def injected(page: Page) -> dict[str, list[str]]:
    lab_server.wait_drawn(page)
    return page.evaluate(INJECTED)


def assert_plain(page: Page, names: tuple[str, ...], where: str) -> None:
    """No name became markup on ``page``, and each of ``names`` is shown as typed."""
    assert_no_exception(page)
    assert injected(page) == {"links": [], "images": [], "huge": []}, where
    text = page.evaluate(TEXT)
    missing = [name for name in names if name not in text]
    assert not missing, f"{where}: not shown as typed: {missing}"


@pytest.fixture(scope="module")
def hostile_runs(server: lab_server.LabServer, finished_runs: list[Run]) -> list[Run]:
    """Three tiny finished runs (three seeds), each renamed through the store to a hostile name. Made after
    ``finished_runs`` is taken, so that the other tests' runs, named plainly, never include these."""
    config = TrainConfig(hidden_units=(UNITS,), epochs=1, train_samples=600, test_samples=200)
    made = train_here(server, seed_series(config, len(NAMES)))
    assert all(run.state == "finished" for run in made)
    store = RunStore(server.runs_dir)
    return [store.rename(run.id, name) for run, name in zip(made, NAMES, strict=True)]


def test_the_detector_sees_what_a_hostile_name_would_become(browser: Browser) -> None:
    """The check can fail: a link, an SVG link (as Plotly writes one), an image and 90-pixel text, planted.
    (Not the ``page`` fixture: the planted image fails to load, a console error that fixture refuses.)"""
    planted = lab_server.new_page(browser)
    try:
        planted.set_content(
            '<a href="https://evil.example">x</a><img src="https://evil.example/i.png">'
            '<svg><a xlink:href="https://evil.example"><text style="font-size:90px">BIG</text></a></svg>'
        )
        found = planted.evaluate(INJECTED)
    finally:
        planted.context.close()
    assert [len(found[kind]) for kind in ("links", "images", "huge")] == [2, 1, 1]


def test_hostile_names_are_plain_text_on_train_confusion_and_inside(
    server: lab_server.LabServer, page: Page, hostile_runs: list[Run]
) -> None:
    for run in hostile_runs:
        for path in ("/Train", "/Confusion", "/Inside"):
            lab_server.goto(page, f"{server.url}{path}?run={run.id}")
            assert_plain(page, (run.name,), f"{path} for {run.name!r}")


def test_hostile_names_are_plain_text_in_the_bias_labs_legends(
    server: lab_server.LabServer, page: Page, hostile_runs: list[Run]
) -> None:
    lab_server.goto(page, f"{server.url}/Bias_lab?exercise={','.join(run.id for run in hostile_runs)}")
    expect(page.get_by_role("heading", name="The exercise, side by side")).to_be_visible()
    assert_plain(page, (), "the Bias lab")  # its table and legends name each run by its role, not its name


def test_hostile_names_are_plain_text_on_compare(
    server: lab_server.LabServer, page: Page, hostile_runs: list[Run]
) -> None:
    lab_server.goto(page, f"{server.url}/Compare")
    pick_runs(page, hostile_runs)
    assert_plain(page, tuple(run.name for run in hostile_runs), "Compare of all three")


def pick_runs(page: Page, runs: list[Run]) -> None:
    """Empty Compare's run picker (each chip's Remove button), then pick ``runs`` from its list."""
    picker = page.get_by_role("combobox", name="Runs (2–4)")
    chips = page.get_by_test_id("stMultiSelect").get_by_role("button", name=re.compile("^Remove "))
    while count := chips.count():
        lab_server.interact(page, chips.first.click)
        expect(chips).to_have_count(count - 1)
    for run in runs:
        picker.focus()
        picker.press("ArrowDown")
        options = page.get_by_role("option")
        expect(options.first).to_be_visible()
        texts = options.all_inner_texts()  # each run's label starts with its name
        (index,) = [i for i, text in enumerate(texts) if text.startswith(f"{run.name} · ")]
        lab_server.interact(page, options.nth(index).click)
    page.keyboard.press("Escape")  # the open list hides the rest of the page from the accessibility tree
    expect(chips).to_have_count(len(runs))


def test_a_damaged_runs_name_in_compares_error_box_is_text(
    server: lab_server.LabServer, page: Page, hostile_runs: list[Run], tmp_path: Path
) -> None:
    """A run whose history is damaged, picked on Compare: the error names it as typed, with no image."""
    store = RunStore(server.runs_dir)
    damaged = hostile_runs[2]  # ![x](https://evil.example/i.png) [click](https://evil.example)
    history = store.path(damaged.id) / "history.json"
    kept = history.read_bytes()
    history.write_text("{ not json")
    try:
        lab_server.goto(page, f"{server.url}/Compare")
        pick_runs(page, [hostile_runs[0], damaged])
        error = page.get_by_test_id("stAlertContentError")
        expect(error).to_contain_text("This run's files are damaged")
        assert f"2: {damaged.name}:" in error.text_content().replace("\u2060", "")  # as typed, joiners aside
        assert injected(page) == {"links": [], "images": [], "huge": []}
    finally:
        history.write_bytes(kept)
