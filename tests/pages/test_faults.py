"""Process and disk faults: a full or read-only store, host caps, a server started elsewhere, bad CLI names.

A full or read-only store is a real tiny tmpfs (root only: skipped with a reason elsewhere, required in CI).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.cli import main
from fmnist_lab.execution.contract import SubmitRefused
from fmnist_lab.execution.factory import executor
from fmnist_lab.execution.local import LocalExecutor
from fmnist_lab.ui.navigation import COMPARE, CONFUSION, GALLERY, HOME, PREDICTIONS, TRAIN
from tests.pages.test_pages import open_page, texts

ROOT = Path(__file__).parents[2]
REQUIRE_MOUNT = os.environ.get("CI") == "true"
PAGES = (
    HOME,
    TRAIN,
    CONFUSION,
    PREDICTIONS,
    COMPARE,
    GALLERY,
)


@pytest.fixture
def tiny_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_env: Path) -> Iterator[Path]:
    """FMNIST_LAB_HOME on a 512 kB tmpfs of its own."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        message = f"cannot mount a tmpfs here: {done.stderr.decode().strip()}"
        pytest.fail(message) if REQUIRE_MOUNT else pytest.skip(message)
    monkeypatch.setenv("FMNIST_LAB_HOME", str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> None:
    """Write until the file system says it is full."""
    with open(folder / "ballast", "wb") as ballast:
        try:
            while True:
                ballast.write(b"\0" * 65536)
                ballast.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def dead_active_run(store: RunStore) -> str:
    """A run left 'running' by a worker that died without a word (no process holds its lock)."""
    run = store.create(TrainConfig(hidden_units=(16,), epochs=2))
    store.set_status(run.id, "running")
    return run.id


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_the_lab_stays_up_on_a_full_or_read_only_store(tiny_home: Path, fault: str) -> None:
    store = RunStore(tiny_home / "runs")
    run_id = dead_active_run(store)
    if fault == "full":
        fill(tiny_home)
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_home)], check=True)
    assert "cannot save anything" in (store.problem() or "")
    assert LocalExecutor(store).refresh() == [run_id]  # not written, but known
    shown = store.load(run_id)
    assert shown.state == "failed" and ("not saved" in shown.status["error"]) == (fault == "read-only")
    on_disk = json.loads((store.path(run_id) / "status.json").read_text())["state"]
    assert on_disk == ("failed" if fault == "full" else "running")  # the run's spare file made room for it
    if fault == "full":
        fill(tiny_home)  # full again, spare gone
    for page in PAGES:
        app = open_page(page, run=run_id)
        assert not app.exception, (page, app.exception)
        assert any("cannot save anything" in w.value for w in app.warning), page
    app = open_page(TRAIN)
    app.button(key="train_start").click().run()
    assert not app.exception and "Could not start the run" in texts(app)


def test_runs_json_shows_a_dead_run_failed_on_a_read_only_store(
    tiny_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = dead_active_run(RunStore(tiny_home / "runs"))
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_home)], check=True)
    assert main(["runs", "--json"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["run_id"] == run_id and row["status"] == "failed"


def test_a_link_outside_a_hidden_widgets_presets_is_used(app_env: Path) -> None:
    app = open_page(TRAIN, hide="advanced", train="5000")  # once a StopIteration
    assert not app.exception and not app.warning
    assert app.query_params["train"] == "5000"


def test_host_caps_turn_a_big_link_into_a_note(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMNIST_MAX_EPOCHS", "10")
    monkeypatch.setenv("FMNIST_MAX_PARAMETERS", "200000")
    app = open_page(TRAIN, epochs="30", units="1024")
    assert not app.exception
    (warning,) = app.warning
    assert "`epochs=30`: This server trains at most 10 epochs per run" in warning.value
    assert "`units=1024`: This server trains models of at most 200,000 parameters" in warning.value
    assert "101,770 parameters to learn" in texts(app)  # the defaults, under both caps
    with pytest.raises(SubmitRefused, match="at most 200,000 parameters"):
        executor(RunStore()).submit(TrainConfig(hidden_units=(1024,)))
    assert RunStore().list() == []  # refused before anything was made


def test_a_server_started_elsewhere_serves_nothing_but_how_to_start_it(tmp_path: Path) -> None:
    code = (
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({str(ROOT / 'dashboard.py')!r}, default_timeout=60).run()\n"
        "print('ERRORS', [e.value for e in app.error])\nprint('HEADERS', [h.value for h in app.header])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "started without its safety settings" in done.stdout and "every network interface" in done.stdout
    assert "HEADERS []" in done.stdout  # nothing of the lab itself was served


@pytest.mark.parametrize("name", ["   ", "\n\t"])
def test_a_blank_run_name_is_a_usage_error(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["train", "--name", name])
    assert caught.value.code == 2 and "visible character" in capsys.readouterr().err


@pytest.mark.parametrize("home", ["symlink loop", "plain file", "~nouser"])
def test_an_unusable_lab_home_is_a_message_on_every_page(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str
) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "plain").write_text("not a folder\n")
    value = {"symlink loop": tmp_path / "a", "plain file": tmp_path / "plain", "~nouser": "~fmnist-no-such-user/x"}
    monkeypatch.setenv("FMNIST_LAB_HOME", str(value[home]))
    for page in PAGES:
        app = open_page(page, run="20261121-093015-a3f09c")
        assert not app.exception, (page, app.exception)
        assert any("The lab cannot use its folder" in e.value for e in app.error), page


def test_a_plain_train_page_opens_within_the_caps_and_says_them(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMNIST_MAX_EPOCHS", "3")  # below the default of 5
    app = open_page(TRAIN)
    assert not app.exception and not app.error
    assert app.slider(key="train_epochs").value == 3 and not app.button(key="train_start").disabled
    assert any("This server trains at most 3 epochs per run." in c.value for c in app.caption)  # before a click


def test_the_batch_1_link_is_capped_with_a_note(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMNIST_MAX_RUN_SECONDS", "60")
    app = open_page(TRAIN, batch="1", hide="advanced", epochs="3", units="128")
    assert not app.exception
    (warning,) = app.warning
    assert "`batch=1`: This server trains runs of at most 60 s" in warning.value and "Using batch=32." in warning.value
    assert "batch" not in app.query_params and app.query_params["epochs"] == "3"


@pytest.mark.parametrize(
    "shares",
    [
        "0:0,1:0,2:0,3:0,4:0,5:0,6:0,7:0,8:0,9:0",
        "T-shirt-top:0,Trouser:0,Pullover:0,Dress:0,Coat:0,Sandal:0,Shirt:0,Sneaker:0,Bag:0,Ankle-boot:0",
    ],
)
def test_a_link_starving_every_class_is_a_note_not_a_crash(app_env: Path, shares: str) -> None:
    for extra in ({}, {"hide": "bias"}, {"lock": "bias"}):
        app = open_page(TRAIN, shares=shares, **extra)
        assert not app.exception
        assert any("leave nothing to train on" in w.value for w in app.warning)
