"""Is it luck? In a real browser: Compare's classic-pair button trains 128 vs 1024 over 2 seeds each (1 epoch),
and once the four runs end, Compare draws each group's mean curve with a filled ±1 sd band and says the
verdict in words, computed here again from the runs' own files."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fmnist_lab.analysis import spread
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.store.runs import RunStore

from .conftest import lab_server, require_chromium
from .test_browser import TRAINING_TIMEOUT, assert_no_exception, eventually, slide

pytestmark = pytest.mark.e2e

require_chromium()

SEEDS = 2
# Every Plotly trace under the Compare page's charts with a fill: {chart title, trace name, fill}
BANDS = """() => [...document.querySelectorAll(".js-plotly-plot")].flatMap((el) => el.data
  .filter((t) => t.fill && t.fill !== "none")
  .map((t) => ({title: el.layout?.title?.text ?? "", name: t.name ?? "", fill: t.fill, points: t.x.length})))"""


def test_two_seeds_of_each_side_show_a_band_and_the_verdict(
    server: lab_server.LabServer, page: Page, store: RunStore
) -> None:
    lab_server.goto(page, f"{server.url}/Compare")
    page.get_by_test_id("stExpander").get_by_text("Train the classic pair over seeds").click()
    slide(page, "Epochs for every run", ["Home"], 1)
    lab_server.interact(page, page.get_by_test_id("stRadio").get_by_text(str(SEEDS), exact=True).click)
    before = {run.id for run in store.list()}
    lab_server.interact(page, page.get_by_role("button", name=f"Train 128 vs 1024, {SEEDS} seeds each").click)
    assert_no_exception(page)
    new = [run for run in store.list() if run.id not in before]
    assert sorted(run.config.hidden_units for run in new) == [(128,)] * SEEDS + [(1024,)] * SEEDS

    eventually(
        lambda: all(store.load(run.id).state == "finished" for run in new), TRAINING_TIMEOUT * 4, "the four runs"
    )
    groups = [group for group in GroupStore(store).list() if set(group.run_ids) <= {run.id for run in new}]
    small, large = sorted(groups, key=lambda group: group.config().hidden_units)
    expected = spread.compare_sides(
        spread.load_side(GroupStore(store), small.id), spread.load_side(GroupStore(store), large.id)
    )

    lab_server.goto(page, page.url)  # a reload; the newest two groups are these
    assert_no_exception(page)
    expect(page.get_by_text(expected.verdict)).to_be_visible()
    bands = page.evaluate(BANDS)
    assert {band["fill"] for band in bands} == {"toself"}, bands
    assert len(bands) >= 2 and all(band["points"] > 0 for band in bands), bands
