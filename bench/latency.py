"""Latency: click *Train* → first live point, and → finished, in a real browser.

    .venv/bin/python bench/latency.py [--runs 5] [--units 128] [--epochs 1] [--warm-workers N] [--app DIR] [--settle S]

Starts a fresh ``streamlit run app.py`` (its own lab home, the real data set), opens the
setup link ``/Train?units=128&epochs=1`` in Debian's Chromium, and for each run clicks *Train*
and times until the live chart has its first training-loss point (the running line's, long
before an epoch ends), then until the
page has swapped the live view for the results. The first run of the fresh server is
"cold" (clicked as soon as the page is up; ``--settle S`` opens it S seconds after the server
answers, as when learners arrive after the instructor started it); the median of the later ones
is "warm". ``--warm-workers 0`` turns the warm pool
off (what every run paid before it); ``--app DIR`` serves another checkout of the lab (e.g.
``git archive main | tar -x -C DIR``) to compare against. Traffic stays on localhost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import lab_server  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

# Points of the live chart's training-loss traces (epoch records and the running line); -1 before
# either is drawn. The running line is what a learner sees first, long before an epoch ends.
POINTS = """() => {
  const traces = [...document.querySelectorAll(".js-plotly-plot")].flatMap((el) => el.data ?? [])
    .filter((t) => t.name.startsWith("Training loss"));
  return traces.length ? traces.reduce((n, t) => n + t.x.length, 0) : -1;
}"""
LIVE_GONE = "() => document.querySelector('.st-key-train_stop') === null"  # the results replaced the live view
TIMEOUT = 300.0  # seconds for one run


def one_run(page: Page, url: str) -> tuple[float, float]:
    """Open the setup link, click Train; seconds to the first live point and to the results."""
    lab_server.goto(page, url)
    button = page.locator(".st-key-train_start").get_by_role("button")
    button.wait_for()
    start = time.monotonic()
    button.click()
    page.wait_for_function(f"({POINTS})() > 0", timeout=TIMEOUT * 1000, polling=20)
    first = time.monotonic() - start
    page.wait_for_function(LIVE_GONE, timeout=TIMEOUT * 1000, polling=20)
    return first, time.monotonic() - start


def measure(runs: int, units: int, epochs: int, settle: float = 0.0) -> list[tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="fmnist-latency-") as folder, sync_playwright() as playwright:
        with lab_server.running_server(Path(folder) / "home") as server:
            time.sleep(settle)  # a workshop's server is up a while before the first learner clicks
            browser = lab_server.launch_browser(playwright)
            try:
                page = lab_server.new_page(browser)
                url = f"{server.url}/Train?units={units}&epochs={epochs}"
                times = [one_run(page, url) for _ in range(runs)]
            finally:
                browser.close()
                lab_server.kill_workers(server.home)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs in a row on one fresh server")
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--warm-workers", type=int, help="FMNIST_WARM_WORKERS for the server (0: cold workers)")
    parser.add_argument("--app", type=Path, help="serve this checkout of the lab instead of this one")
    parser.add_argument(
        "--settle", type=float, default=0.0, help="seconds between the server answering and the first page (0)"
    )
    args = parser.parse_args()
    if args.warm_workers is not None:
        os.environ["FMNIST_WARM_WORKERS"] = str(args.warm_workers)
    if args.app:
        lab_server.ROOT = args.app.resolve()
    times = measure(args.runs, args.units, args.epochs, args.settle)
    for k, (first, done) in enumerate(times, 1):
        print(f"run {k}: first live point {first:5.2f} s, finished {done:5.2f} s")
    warm = times[1:] or times
    print(f"cold  first point {times[0][0]:.2f} s, finished {times[0][1]:.2f} s")
    print(
        f"warm  first point {statistics.median(t[0] for t in warm):.2f} s, "
        f"finished {statistics.median(t[1] for t in warm):.2f} s (median of {len(warm)})"
    )


if __name__ == "__main__":
    main()
