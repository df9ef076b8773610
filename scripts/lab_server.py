"""The lab as a user runs it, driven by a real browser: shared by the end-to-end tests and ``screenshots.py``.

``start_server`` runs ``python -m streamlit run app.py`` on a free port with its own lab
home and waits for Streamlit's health check; ``stop_server`` ends it and any training process
it started. ``launch_browser`` opens Debian's Chromium through Playwright, and ``wait_idle``
waits until Streamlit says the page script has finished running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Playwright is needed only by the functions that drive a browser
    from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser download is not used
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Tall enough that the Train page, Advanced open, needs no scrolling: Streamlit's main area scrolls inside
# its own container (a full-page screenshot does not grow), and an open select box closes when it scrolls.
VIEWPORT = {"width": 1400, "height": 2200}
# Counts the page script runs that have ended since the page loaded. Streamlit ends each run with a
# ``script_finished`` ForwardMsg (field 6; 0: finished, 1: compile error, 2: stopped early for a rerun,
# 3: a fragment ran); its root element's data-test-script-state attribute alone is not enough, as a fast
# rerun can go running → notRunning within one React render and never change it. Counted two animation
# frames after the message, once Streamlit has drawn what the run sent.
COUNT_RUNS = """
window.__labRunsDone = 0;
window.__labFirstRunAt = null;  // ms after navigation start when the first script run's end arrived
const scriptFinished = (bytes) => {  // the top-level field 6 of a ForwardMsg, or null
  let i = 0;
  const varint = () => {
    let value = 0, scale = 1, byte;
    do { byte = bytes[i++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte >= 0x80);
    return value;
  };
  while (i < bytes.length) {
    const tag = varint(), wire = tag % 8;
    if (wire === 0) { const value = varint(); if (tag >> 3 === 6) return value; }
    else if (wire === 2) { const length = varint(); i += length; }  // not ``i += varint()``: it moves i
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return null;
  }
  return null;
};
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      const status = event.data instanceof ArrayBuffer ? scriptFinished(new Uint8Array(event.data)) : null;
      if (status === 0 || status === 1) {
        window.__labFirstRunAt ??= performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => { window.__labRunsDone += 1; }));
      }
    });
  }
};
"""
# Idle: connected, a script run has ended since ``after``, none is going on, and nothing is still a skeleton.
IDLE = """(after) => {
  const app = document.querySelector("[data-testid='stApp']");
  return !!app && app.dataset.testConnectionState === "CONNECTED" && app.dataset.testScriptState === "notRunning"
    && window.__labRunsDone > after && !document.querySelector("[data-testid='stSkeleton']");
}"""
# What ``wait_idle`` reports when the page never goes idle
PAGE_STATE = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  return {connection: app?.dataset.testConnectionState, script: app?.dataset.testScriptState,
    runsEnded: window.__labRunsDone, skeletons: document.querySelectorAll("[data-testid='stSkeleton']").length};
}"""
# Drawn: every Plotly chart has been plotted and every image has loaded.
DRAWN = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart']")].every(
    (chart) => chart.querySelector(".js-plotly-plot")?._fullLayout) && [...document.images].every((i) => i.complete)"""
# Resolves once nothing has scrolled for 8 animation frames (Streamlit's main area scrolls smoothly).
STILL = """async () => {
  let quiet = 0;
  const moved = () => { quiet = 0; };
  document.addEventListener("scroll", moved, true);
  while (quiet < 8) { await new Promise((resolve) => requestAnimationFrame(resolve)); quiet += 1; }
  document.removeEventListener("scroll", moved, true);
}"""
HEALTH_TIMEOUT = 60.0  # seconds for a cold server to answer /_stcore/health
STOP_TIMEOUT = 10.0  # seconds a process gets to end after SIGTERM before SIGKILL


@dataclass(frozen=True)
class LabServer:
    """A running ``streamlit run app.py`` and the lab home it writes into."""

    process: subprocess.Popen[bytes]
    port: int
    home: Path  # FMNIST_LAB_HOME: runs/ and cache/
    env: dict[str, str]  # the server's environment, for other lab commands on the same home and data
    log: Path  # the server's stdout and stderr

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(home: Path, data_dir: Path | None = None) -> dict[str, str]:
    """This process's environment plus the lab home, the data folder (if given) and no downloads."""
    env = dict(os.environ) | {"FMNIST_LAB_HOME": str(home), "FMNIST_DOWNLOAD": "0"}
    env |= {
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",  # no telemetry calls from the page
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",  # edits in the work tree must not rerun pages mid-test
        "TF_CPP_MIN_LOG_LEVEL": "2",  # quieter worker logs
    }
    if data_dir is not None:
        env["FMNIST_DATA_DIR"] = str(data_dir)
    return env


def start_server(
    home: Path,
    data_dir: Path | None = None,
    port: int | None = None,
    timeout: float = HEALTH_TIMEOUT,
    env: dict[str, str] | None = None,
) -> LabServer:
    """Start the app on ``port`` (a free one by default) and return once it is healthy; ``env``
    adds to the server's environment."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    argv += ["--server.headless", "true"]
    log, env = home / "server.log", server_env(home, data_dir) | (env or {})
    with open(log, "ab") as out:  # the child keeps its own copy of the file
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    server = LabServer(process, port, home, env, log)
    try:
        wait_healthy(server, timeout)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_healthy(server: LabServer, timeout: float = HEALTH_TIMEOUT) -> None:
    """Poll ``/_stcore/health`` until it says ``ok``; raise with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server_log(server)}")
        with contextlib.suppress(OSError):  # refused while starting up; URLError is an OSError
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as answer:
                if answer.read().decode().strip() == "ok":
                    return
        time.sleep(0.2)
    raise TimeoutError(f"the server did not become healthy in {timeout:.0f} s:\n{server_log(server)}")


def server_log(server: LabServer, tail: int = 4000) -> str:
    try:
        return server.log.read_text(errors="replace")[-tail:]
    except OSError:
        return "(no log)"


def stop_server(server: LabServer) -> None:
    """End the server, then any training process it started for this lab home."""
    _end(server.process)
    kill_workers(server.home)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def kill_workers(home: Path) -> list[int]:
    """Kill the ``fmnist_lab worker`` processes of runs under ``home``; returns their pids.

    Workers start in their own session, so ending the server leaves them running.
    """
    from fmnist_lab import RunStore
    from fmnist_lab.execution.processes import worker_processes

    killed = []
    for pid in worker_processes(RunStore(home / "runs")).values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


@contextlib.contextmanager
def running_server(
    home: Path, data_dir: Path | None = None, port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[LabServer]:
    server = start_server(home, data_dir, port, env=env)
    try:
        yield server
    finally:
        stop_server(server)


def launch_browser(playwright: Playwright, executable: Path = CHROMIUM) -> Browser:
    """Debian's Chromium, headless, with nothing that phones home."""
    return playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)


def new_page(browser: Browser, width: int = VIEWPORT["width"], height: int = VIEWPORT["height"]) -> Page:
    """A page in a fresh browser context (its own Streamlit session) that counts script runs."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(COUNT_RUNS)
    return context.new_page()


def runs_done(page: Page) -> int:
    return page.evaluate("window.__labRunsDone")


def wait_idle(page: Page, after: int = 0, timeout: float = 60.0) -> None:
    """Wait until a script run that ended after ``after`` runs were done leaves the page idle; if it never
    does, say what the page was doing (connection, script state, runs ended, skeletons left)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(IDLE, arg=after, timeout=timeout * 1000)
    except PlaywrightTimeout:
        state = page.evaluate(PAGE_STATE)
        raise AssertionError(f"{page.url} not idle after {timeout:g} s (after run {after}): {state}") from None


def goto(page: Page, url: str, timeout: float = 60.0) -> None:
    """Open ``url`` and wait for its page script to finish."""
    page.goto(url)
    wait_idle(page, 0, timeout)


def interact(page: Page, action: Callable[[], object], timeout: float = 60.0) -> None:
    """Do ``action`` (a click, a key press, an upload) and wait for the rerun it causes to finish."""
    before = runs_done(page)
    action()
    wait_idle(page, before, timeout)


def wait_drawn(page: Page, timeout: float = 60.0) -> None:
    """Wait until every chart is plotted and every image loaded (Streamlit draws them after the run)."""
    page.wait_for_function(DRAWN, timeout=timeout * 1000)


def wait_still(page: Page) -> None:
    """Wait until the page has stopped scrolling."""
    page.evaluate(STILL)
