"""The server as ``scripts/start.sh`` starts it: its warm workers start with it, not with the first page."""

from __future__ import annotations

from pathlib import Path

from tests.execution.test_local import wait_for
from tests.execution.test_warm import gone

from .conftest import lab_server


def warm_workers(runs_dir: Path) -> dict[int, int]:
    """Warm worker processes training into ``runs_dir``: pid → parent pid."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked
        if b"warm" in argv and str(runs_dir).encode() in argv:
            found[int(proc.name)] = parent
    return found


def test_warm_workers_start_with_the_server_before_any_page_opens(tmp_path: Path, full_size_idx: Path) -> None:
    home = tmp_path / "lab"
    with lab_server.running_server(home, full_size_idx, env={"FMNIST_WARM_WORKERS": "1"}) as server:
        runs_dir = server.home / "runs"
        wait_for(lambda: bool(warm_workers(runs_dir)), 60)  # no browser has asked for any page
        workers = warm_workers(runs_dir)
        assert list(workers.values()) == [server.process.pid]  # one, started by the server itself
        assert "Traceback" not in server.log.read_text()
    wait_for(lambda: all(gone(pid) for pid in workers), 60)  # and they leave with it
