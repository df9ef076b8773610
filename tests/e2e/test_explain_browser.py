"""Edit the image in a real browser: a stroke on the canvas changes the softmax bars; Reset brings them back."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from fmnist_lab.store.runs import Run, RunStore

from .conftest import lab_server, require_chromium
from .test_browser import figures, open_page

pytestmark = pytest.mark.e2e

require_chromium()

CHANGED = """([selector, before]) => {
  const el = document.querySelector(selector);
  const y = el?.data?.[0]?.y;
  if (!y) return false;
  const values = Array.from(y._inputArray ?? y);
  return values.some((v, i) => Math.abs(v - before[i]) > 1e-6);
}"""


def edit_bars(page: Page, run_id: str) -> tuple[str, np.ndarray]:
    selector = f".st-key-edit_{run_id}_0_bars .js-plotly-plot"
    # while the fragment reruns, its old chart and the new one may both be there for a moment
    page.wait_for_function(f"document.querySelectorAll({selector!r}).length === 1", timeout=30_000)
    (bars,) = figures(page, selector)
    return selector, np.array(bars["traces"][0]["y"])


def stroke(page: Page, canvas: Locator, row: float) -> None:
    """A white stroke across the picture, ``row`` of the way down."""
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + row * box["height"])
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(box["x"] + (0.2 + 0.03 * step) * box["width"], box["y"] + row * box["height"])
    page.mouse.up()


def test_drawing_on_the_canvas_changes_the_bars(
    server: lab_server.LabServer, page: Page, store: RunStore, finished_runs: list[Run]
) -> None:
    run = finished_runs[0]
    open_page(page, server, f"/Predictions?run={run.id}")
    selector, before = edit_bars(page, run.id)
    np.testing.assert_allclose(before, store.predictions(run.id)[0][0], atol=1e-5)  # unedited: the run's answer
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    expect(canvas).to_be_visible()
    for attempt in range(3):  # a stroke before the canvas has wired its handlers draws nothing: stroke again
        stroke(page, canvas, row=0.3 + 0.1 * attempt)
        try:
            page.wait_for_function(CHANGED, arg=[selector, before.tolist()], timeout=20_000)
            break
        except PlaywrightTimeout:
            assert attempt < 2, "three strokes on the canvas left the bars as they were"
    _, after = edit_bars(page, run.id)
    assert after.sum() == pytest.approx(1.0, abs=1e-5) and not np.allclose(after, before)
    page.locator(f".st-key-edit_{run.id}_0_reset button").click()  # reruns the fragment only: wait for the bars
    # back to the unedited bars, and the rerun's old chart gone (while the fragment reruns both may be there)
    page.wait_for_function(
        f"document.querySelectorAll({selector!r}).length === 1 && !({CHANGED})([{selector!r}, {before.tolist()}])",
        timeout=60_000,
    )
    np.testing.assert_allclose(edit_bars(page, run.id)[1], before, atol=1e-6)
