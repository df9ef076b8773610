"""End-to-end fixtures: the app served as a user starts it, and Debian's Chromium driving it.

The server, its helpers and the browser launch live in ``scripts/lab_server.py``, shared with
``scripts/screenshots.py`` (which must not import the tests). One server and one browser serve the
whole session: no browser test needs an empty store (each looks for the runs it made, by id or by
settings no other test uses, and ends them), and ``tests/e2e`` is one xdist group (``XDIST_GROUPS`` in
``tests/conftest.py``), so one xdist worker owns them all and starts the server once.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from fmnist_lab.config import TrainConfig
from fmnist_lab.execution.ownership import INSTRUCTOR_ENV
from fmnist_lab.store.groups import seed_series
from fmnist_lab.store.paths import CACHE_ENV
from fmnist_lab.store.runs import Run, RunStore
from fmnist_lab.ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import lab_server  # noqa: E402

PAGE_NAMES = sorted(page.url_path for page in PAGES if page.url_path)  # Train, …; Home is ""
# Known noise: a deep link such as /Train makes Streamlit's frontend ask /Train/_stcore/health and
# /Train/_stcore/host-config first; both answer 404 and the frontend falls back to the root.
DEEP_LINK_PROBE = re.compile(rf"/({'|'.join(map(re.escape, PAGE_NAMES))})/_stcore/(health|host-config)$")
ANALYSABLE = ("finished", "stopped")
INSTRUCTOR_SECRET = "e2e-instructor-secret"  # every test server has an instructor
# The server's defaults, warm workers included (one per core), as a user starts it: a cold worker per run
# would import TensorFlow and load the data again for each of the ~20 runs the browser tests train.
SERVER_ENV = {INSTRUCTOR_ENV: INSTRUCTOR_SECRET}


@pytest.fixture(scope="session")
def server(
    full_size_idx: Path, data_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[lab_server.LabServer]:
    """``streamlit run app.py`` on a free port, its own lab home, the synthetic full-size data set
    (parsed into the session's data cache)."""
    home, env = tmp_path_factory.mktemp("e2e-lab"), SERVER_ENV | {CACHE_ENV: str(data_cache)}
    with lab_server.running_server(home, full_size_idx, env=env) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = lab_server.launch_browser(playwright)
        yield launched
        launched.close()


def unexpected(message: ConsoleMessage) -> bool:
    if message.type != "error":
        return False
    probe_404 = "status of 404" in message.text and DEEP_LINK_PROBE.search(message.location.get("url", ""))
    return not probe_404


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser session; the test fails on any console error or uncaught page error."""
    opened = lab_server.new_page(browser)
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(f"console: {m.text} at {m.location}") if unexpected(m) else None)
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield opened
    opened.context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def store(server: lab_server.LabServer) -> Iterator[RunStore]:
    """The server's runs, read from disk (not through this process's FMNIST_LAB_HOME). Afterwards any run
    still active is asked to stop: a failed test's run must not hold a training slot on the shared server."""
    runs = RunStore(server.runs_dir)
    yield runs
    for run in runs.list():
        if run.is_active:
            runs.request_cancel(run.id)


def analysable(store: RunStore) -> list[Run]:
    return [run for run in store.list() if run.state in ANALYSABLE and run.metrics]


def train_here(server: lab_server.LabServer, configs: list[TrainConfig]) -> list[Run]:
    """Runs a test needs ready, trained into the server's store on the server's data set by this process
    (which has TensorFlow loaded already), as a worker trains them (``engine.train``); finished, in order."""
    from fmnist_lab.training import data, engine

    store, dataset = RunStore(server.runs_dir), data.read_folder(Path(server.env["FMNIST_DATA_DIR"]))
    made = [store.create(config) for config in configs]
    for run in made:
        engine.train(store, run.id, dataset=dataset)
    return [store.load(run.id) for run in made]


@pytest.fixture(scope="session")
def finished_runs(server: lab_server.LabServer) -> list[Run]:
    """Two or more finished or stopped runs, newest first: the training tests' runs, topped up here."""
    store = RunStore(server.runs_dir)
    if missing := 2 - len(analysable(store)):
        train_here(server, seed_series(TrainConfig(hidden_units=(32,), epochs=1, train_samples=3000), missing))
    return analysable(store)


def require_chromium() -> None:
    """Skip the calling test module without Debian's Chromium; in CI (FMNIST_REQUIRE_E2E=1), fail instead."""
    if not lab_server.CHROMIUM.exists():
        message = f"Debian's chromium is not installed ({lab_server.CHROMIUM}): apt-get install chromium"
        if os.environ.get("FMNIST_REQUIRE_E2E") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
