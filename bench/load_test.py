"""Load test: 20 learners on one server, each starting a training at once.

    .venv/bin/python bench/load_test.py [--clients 20] [--max-trainings N]

Starts a real ``streamlit run dashboard.py`` on localhost (its own lab home, the
real data set), opens one Chromium page per learner with a setup link
(``/Train?units=32&epochs=2&train=3000``), clicks *Train* in every page, and while
the queue drains keeps reloading the home page (a new Streamlit session each time) to time it. It
checks that every run finishes and none is lost, that no more than the limit
trained at once, and prints the figures. Traffic stays on localhost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from lab_server import goto, launch_browser, new_page, running_server, wait_idle  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from fmnist_lab import RunStore  # noqa: E402

SETUP = "/Train?units=32&epochs=2&train=3000"
DEADLINE = 900.0  # seconds for the whole queue to drain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--max-trainings", type=int, help="FMNIST_MAX_TRAININGS for the server (default: cores)")
    args = parser.parse_args()
    if args.max_trainings:
        import os

        os.environ["FMNIST_MAX_TRAININGS"] = str(args.max_trainings)
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server, sync_playwright() as p:
        browser = launch_browser(p)
        store = RunStore(server.runs_dir)
        learners = [new_page(browser) for _ in range(args.clients)]
        for page in learners:
            goto(page, server.url + SETUP)
        clicked = time.monotonic()
        for page in learners:  # one click each, as fast as a room of learners
            page.get_by_role("button", name="Train").click()
        loads, most_running = [], 0
        probe = new_page(browser)  # a learner reloading the home page: a new session, a warm browser cache
        goto(probe, server.url + "/")
        while time.monotonic() - clicked < DEADLINE:
            runs = store.list()
            most_running = max(most_running, sum(run.state == "running" for run in runs))
            if len(runs) == args.clients and not any(run.is_active for run in runs):
                break
            start = time.monotonic()
            goto(probe, server.url + "/")
            loads.append(time.monotonic() - start)
            time.sleep(1.0)
        drained = time.monotonic() - clicked
        for page in learners:
            wait_idle(page, timeout=30)
        runs = store.list()
        states = [run.state for run in runs]
        print(f"clients: {args.clients}; runs created: {len(runs)}; finished: {states.count('finished')}")
        print(f"queue drained in {drained:.0f} s; most trainings at once: {most_running}")
        if loads:
            print(
                f"home page load while training: median {statistics.median(loads):.2f} s, "
                f"max {max(loads):.2f} s over {len(loads)} loads"
            )
        ok = len(runs) == args.clients and states.count("finished") == args.clients
        ok = ok and bool(loads) and max(loads) < 1.0
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
