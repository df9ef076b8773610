"""Every page through Streamlit's AppTest: loads clean, trains, stops, and handles bad input."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore, TrainConfig, config
from fmnist_lab.training import data
from fmnist_lab.ui.navigation import ENTRYPOINT, GALLERY, HOME, PAGES, TRAIN, LabPage

ROOT = Path(__file__).parents[2]
TIMEOUT = 60


def page_id(page: LabPage) -> str:
    return page.url_path or "Home"


def open_page(page: LabPage, **query: str) -> AppTest:
    """Open ``page`` as a browser opens its address: the entry point runs, and runs the page.

    Switching before the first run finds the page by its file name, which names its address
    (``tests/pages/test_navigation.py`` checks that).
    """
    app = AppTest.from_file(str(ROOT / ENTRYPOINT), default_timeout=TIMEOUT)
    if page is not HOME:
        app.switch_page(page.file)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def finished_run(store: RunStore, owner: str | None = None, **settings: object) -> str:
    """A run as a finished training leaves it, made without training."""
    config = TrainConfig(**{"hidden_units": (16,), "epochs": 2, **settings})
    run = store.create(config, owner=owner)
    history = [
        {
            "epoch": 1,
            "fraction": 1.0,
            "loss": 0.9,
            "accuracy": 0.7,
            "val_loss": 0.8,
            "val_accuracy": 0.72,
            "seconds": 1,
        },
        {
            "epoch": 2,
            "fraction": 1.0,
            "loss": 0.5,
            "accuracy": 0.8,
            "val_loss": 0.6,
            "val_accuracy": 0.78,
            "seconds": 1,
        },
    ]
    store.write_history(run.id, history)
    metrics = {"test_accuracy": 0.78, "test_loss": 0.6, "parameters": config.parameter_count, "epochs_run": 2}
    store.write_metrics(run.id, metrics | {"seconds_per_epoch": 1.0, "train_seconds": 2.0, "stop_reason": "done"})
    store.set_status(run.id, "finished", stop_reason="done")
    return run.id


def texts(app: AppTest) -> str:
    parts = [
        e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in getattr(app, kind)
    ]
    parts += [f"{m.label}: {m.value}" for m in app.metric]
    return "\n".join(str(p) for p in parts)


def figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def values(field: list | dict) -> list:
    """A trace's x or y as a list; Plotly sends NumPy arrays as base64 typed arrays."""
    if isinstance(field, dict):
        flat = np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"])
        shape = [int(n) for n in str(field.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).tolist()
    return field


@pytest.mark.parametrize("page", PAGES, ids=page_id)
@pytest.mark.parametrize("with_runs", [False, True])
def test_every_page_loads_without_an_exception(app_env: Path, page: LabPage, with_runs: bool) -> None:
    if with_runs:
        finished_run(RunStore())
    app = open_page(page)
    assert not app.exception, app.exception
    assert app.title


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_a_missing_data_set_shows_the_how_to_on_every_page(
    page: LabPage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import streamlit as st

    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "nothing-here")
    st.cache_resource.clear()
    app = open_page(page)
    assert not app.exception
    assert any("apt-get install dataset-fashion-mnist" in e.value for e in app.error)


@pytest.mark.parametrize("bad", ["garbage", "../../etc/passwd", "20261121-093015-a3f09c", "<script>", "x" * 500])
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_a_bad_run_in_the_url_says_not_found_and_the_page_works(app_env: Path, page: LabPage, bad: str) -> None:
    app = open_page(page, run=bad)
    assert not app.exception
    assert any("Run not found" in w.value for w in app.warning)
    assert "run" not in app.query_params


def test_a_run_in_the_url_becomes_the_current_run(app_env: Path) -> None:
    run_id = finished_run(RunStore())
    app = open_page(TRAIN, run=run_id)
    assert app.session_state["current_run"] == run_id
    assert app.query_params["run"] == [run_id] or app.query_params["run"] == run_id
    assert "Test accuracy: 78.00%" in texts(app) and "Why training ended:** done" in texts(app)


def test_home_page_shows_the_data_set(app_env: Path) -> None:
    app = open_page(HOME)
    shown = texts(app)
    assert "Training images: 60,000" in shown and "Test images: 10,000" in shown and "Bytes per image: 784" in shown
    balance = next(c for c in app.get("vega_lite_chart") if json.loads(c.proto.spec)["title"] == "Class balance")
    table = convert_arrow_bytes_to_pandas_df(balance.proto.data.data)  # Streamlit sends the values as Arrow
    training = table[table["set"].str.startswith("training")]
    synthetic = data.load_dataset()
    assert training["images"].tolist() == np.bincount(synthetic.y_train, minlength=10).tolist()
    assert training["class"].tolist() == list(config.CLASS_NAMES)
    assert len(app.get("image")) == 1  # the samples of every class, one picture


def tensorflow_modules_after(steps: str) -> str:
    """Run AppTest ``steps`` (with ``app`` opened on the entry point) in a fresh interpreter; the
    TensorFlow modules it ended up importing, as printed by ``sorted``."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({str(ROOT / ENTRYPOINT)!r}, default_timeout=60)\n"
        f"{steps}\nassert not app.exception, app.exception\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_no_page_imports_tensorflow(trained_store: Path) -> None:
    """Every page, with two trained runs in the store, in one fresh interpreter: none imports Keras, so the
    server never pays Streamlit's Keras clean-up after each run (``tests/pages/conftest.py``)."""
    steps = "app.run()\n"
    for page in PAGES:
        if page is not HOME:
            steps += f"app.switch_page({page.file!r})\napp.run()\nassert not app.exception, {page.file!r}\n"
    assert tensorflow_modules_after(steps) == "[]"


def test_a_failed_run_shows_its_error(app_env: Path) -> None:
    store = RunStore()
    run = store.create(TrainConfig())
    store.set_status(run.id, "failed", error="DataError: train-images-idx3-ubyte.gz: file is damaged")
    app = open_page(TRAIN, run=run.id)
    assert any("Training failed" in e.value and "file is damaged" in e.value for e in app.error)


def rerun_until(app: AppTest, done, timeout: float = 180.0) -> AppTest:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not done(app):
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(0.5)
        app.run()
        assert not app.exception, app.exception
    return app


def start_training(epochs: int, units: int = 32) -> AppTest:
    app = open_page(TRAIN)
    app.selectbox(key="train_units").select(units)
    app.slider(key="train_epochs").set_value(epochs)
    app.selectbox(key="train_train_samples").select(3000)
    app.checkbox(key="train_stop_loss_on").check()
    app.run()
    app.number_input(key="train_stop_loss").set_value(0.01)
    return app.button(key="train_start").click().run()


def test_train_a_tiny_model_from_the_page(app_env: Path) -> None:
    app = start_training(epochs=2)
    assert not app.exception, app.exception
    store = RunStore()
    (run,) = store.list()
    assert run.config == TrainConfig(hidden_units=(32,), epochs=2, stop_loss=0.01, train_samples=3000)
    assert app.query_params["run"] in (run.id, [run.id]) and app.button(key="train_start").disabled
    app.run()  # a rerun mid-training: no second run, and the first goes on
    assert [r.id for r in store.list()] == [run.id]
    rerun_until(app, lambda a: any(m.label == "Test accuracy" for m in a.metric))
    finished = store.load(run.id)
    assert finished.state == "finished"
    shown = texts(app)
    assert f"Test accuracy: {finished.metrics['test_accuracy']:.2%}" in shown
    assert f"Parameters: {TrainConfig(hidden_units=(32,)).parameter_count:,}" in shown
    assert "Epochs run: 2" in shown and "completed all 2 epochs" in shown
    curves = figures(app)[0]["data"]
    train_loss = next(trace for trace in curves if trace["name"] == "Training loss")
    assert values(train_loss["y"]) == pytest.approx([r["loss"] for r in store.history(run.id)])
    assert values(train_loss["x"]) == [1.0, 2.0]


def test_stop_from_the_page(app_env: Path) -> None:
    app = start_training(epochs=50)
    store = RunStore()
    (run,) = store.list()
    rerun_until(app, lambda a: store.history(run.id) and a.button(key="train_stop") is not None)
    app.button(key="train_stop").click().run()
    assert store.cancel_requested(run.id)
    rerun_until(app, lambda a: any(m.label == "Test accuracy" for m in a.metric), timeout=30)
    stopped = store.load(run.id)
    assert stopped.state == "stopped" and stopped.metrics["epochs_run"] < 50
    assert "stopped by request" in texts(app)


def test_gallery_lists_every_finished_run_best_first(app_env: Path) -> None:
    store = RunStore()
    low, high = finished_run(store), finished_run(store)
    store.write_metrics(high, store.load(high).metrics | {"test_accuracy": 0.91})
    store.create(TrainConfig())  # queued: not in the gallery
    app = open_page(GALLERY)
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert table["test accuracy"].tolist() == [0.91, 0.78] and len(table) == 2
    assert low != high


def test_sidebar_lists_this_sessions_runs_first(app_env: Path) -> None:
    store = RunStore()
    app = open_page(HOME)
    mine = store.create(TrainConfig(), owner=app.session_state["session_owner"])  # runs order by created_ns
    other = store.create(TrainConfig(), owner="someone-else")
    app.run()
    picker = app.selectbox(key="sidebar_run")
    assert len(picker.options) == 2  # newest first alone would put the other session's run on top
    assert picker.options[0].startswith("★ ") and not picker.options[1].startswith("★")  # labels, mine first
    assert mine.owner != other.owner


def test_a_dead_worker_is_noticed_by_the_live_view(app_env: Path) -> None:
    store = RunStore()
    run = store.create(TrainConfig())
    with subprocess.Popen(["true"]) as gone:
        gone.wait()
    store.set_status(run.id, "running", pid=gone.pid)
    app = open_page(TRAIN, run=run.id)
    app.run()
    status = store.load(run.id).status
    assert status["state"] == "failed" and "process" in status["error"]
    assert any("Training failed" in e.value and status["error"] in e.value for e in app.error)


def test_an_unwritable_lab_home_is_a_message_on_the_page(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FMNIST_LAB_HOME", str(blocker))
    app = open_page(TRAIN)  # a home that is a plain file: the page says so before anything is clicked
    assert not app.exception, app.exception
    assert any("cannot use its folder" in e.value and "FMNIST_LAB_HOME" in e.value for e in app.error)
    assert blocker.read_text() == "not a folder"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.text(max_size=300), page=st.sampled_from(PAGES))
def test_fuzzed_run_ids_never_break_a_page(app_env: Path, bad: str, page: LabPage) -> None:
    app = open_page(page, run=bad)
    assert not app.exception, app.exception
    assert any("Run not found" in w.value for w in app.warning)
    assert len(max((w.value for w in app.warning), key=len)) < 200  # the hostile text is cut short
