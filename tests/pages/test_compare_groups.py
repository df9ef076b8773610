"""The Compare page's groups: the classic pair over seeds queued whole, and two groups' spread and verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.analysis import statistics
from fmnist_lab.store import groups as groups_store
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.ui import groups_ui
from fmnist_lab.ui.navigation import COMPARE, TRAIN
from tests.conftest import finished_run, queue_only
from tests.pages.test_pages import figures, open_page, texts

NARROW = {0: 0.8695, 1: 0.8729, 2: 0.8756, 3: 0.8744, 4: 0.8760}  # issue 25's table: seed → test accuracy
WIDE = {0: 0.8781, 1: 0.8715, 2: 0.8814, 3: 0.8713, 4: 0.8843}


def stored_group(store: RunStore, units: int, accuracies: dict[int, float]) -> str:
    rng = np.random.default_rng(units)
    ids = []
    for seed, accuracy in accuracies.items():
        run = finished_run(store, TrainConfig(hidden_units=(units,), seed=seed), accuracy, (0.8, accuracy))
        labels = rng.integers(0, 10, 200)
        store.write_predictions(run.id, np.eye(10)[labels] * 0.9 + 0.01, labels)
        ids.append(run.id)
    return GroupStore(store).create(ids).id


def test_two_groups_show_their_band_table_and_the_verdict(app_env: Path) -> None:
    store = RunStore()
    stored_group(store, 128, NARROW)
    stored_group(store, 1024, WIDE)
    app = open_page(COMPARE)
    assert not app.exception, app.exception
    seeds = list(NARROW)
    expected = statistics.compare(
        [100 * v for v in NARROW.values()], [100 * v for v in WIDE.values()], "", "", seeds, seeds
    )
    assert expected.test == statistics.PAIRED
    shown = texts(app).replace("\\", "")  # the page escapes Markdown in the verdict
    assert "1024 units beat 128 units by 0.36 points on average over 5 seeds, but the seeds disagree" in shown
    assert "Test: paired t-test" in shown
    titles = [figure["layout"]["title"]["text"] for figure in figures(app)]
    assert any("shaded ±1 sd" in title for title in titles) and any("error bars ±1 sd" in title for title in titles)
    band = next(f for f in figures(app) if "shaded" in f["layout"]["title"]["text"])
    assert [trace.get("fill") for trace in band["data"]].count("toself") == 2  # one band per group


def test_the_default_pair_puts_the_fewer_hidden_units_first_whichever_was_stored_first(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["g-20261206-100000-000001", "g-20261206-100000-000002"])  # the same second, the wide one older
    monkeypatch.setattr(groups_store, "new_group_id", lambda: next(ids))
    store = RunStore()
    stored_group(store, 1024, WIDE)  # the wide group first: the newest-two default alone would make it A
    stored_group(store, 128, NARROW)
    app = open_page(COMPARE)
    assert not app.exception, app.exception
    picked = [app.selectbox(key=key).value for key in ("compare_group_a", "compare_group_b")]
    assert [GroupStore(store).load(group_id).config().hidden_units for group_id in picked] == [(128,), (1024,)]
    assert "1024 units beat 128 units by 0.36 points" in texts(app).replace("\\", "")


def test_a_group_member_with_a_damaged_history_leaves_compare_working(app_env: Path) -> None:
    store = RunStore()
    stored_group(store, 128, NARROW)
    wide = stored_group(store, 1024, WIDE)
    damaged = GroupStore(store).load(wide).run_ids[0]
    (store.path(damaged) / "history.json").write_text("{ not json")
    app = open_page(COMPARE)
    assert not app.exception, app.exception
    shown = texts(app).replace("\\", "")  # the page escapes Markdown in the store's message
    assert "The curves need every finished member's history" in shown and "history.json" in shown
    assert any("error bars ±1 sd" in figure["layout"]["title"]["text"] for figure in figures(app))


def test_the_classic_pair_over_seeds_is_queued_whole_as_two_groups(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups_ui, "runs_executor", queue_only)
    app = open_page(COMPARE)
    app.slider(key="compare_epochs").set_value(2).run()
    assert "10 runs, about" in texts(app)  # the cost, before the click
    app.button(key="compare_train_pair").click().run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    a, b = sorted(GroupStore(RunStore()).list(), key=lambda group: group.config().hidden_units)
    assert a.config().hidden_units == (128,) and b.config().hidden_units == (1024,)
    assert a.seeds == b.seeds == (0, 1, 2, 3, 4) and len(RunStore().list()) == 10
    assert all(RunStore().load(run_id).config.epochs == 2 for run_id in (*a.run_ids, *b.run_ids))


def test_train_repeats_a_setup_over_seeds_from_a_link(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(groups_ui, "runs_executor", queue_only)
    app = open_page(TRAIN, repeats="3", units="64", epochs="2", seed="7")
    assert app.number_input(key="train_repeats").value == 3
    app.button(key="train_start").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    (group,) = GroupStore(RunStore()).list()
    assert group.seeds == (7, 8, 9) and group.config().hidden_units == (64,) and group.config().epochs == 2
    assert app.query_params["repeats"] == "3"  # the address keeps it: a shareable link


@pytest.mark.parametrize(("text", "repeats"), [("5", 5), ("²", 1), ("99", 10), ("0", 1), ("-3", 1), ("1" * 4301, 1)])
def test_a_linked_repeat_count_is_read_strictly(text: str, repeats: int) -> None:
    assert groups_ui.linked_repeats(text) == repeats
