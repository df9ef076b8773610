"""Groups on the Compare page: train the classic pair over seeds, and compare two groups with their spread.

A group is one setup over several seeds (``store.groups``). Its comparison shows each side's mean
curve with a ±1 sd band, per-class accuracy with error bars, a table of mean ± sd with the
difference's 95 % interval and the test that gave it, and the verdict in words.
"""

from __future__ import annotations

import streamlit as st

from fmnist_lab.analysis import compare, spread
from fmnist_lab.charts.spread import band_curves, class_error_bars
from fmnist_lab.config import TrainConfig
from fmnist_lab.execution.limits import measured_speed
from fmnist_lab.store.groups import GroupError, GroupStore, seed_series
from fmnist_lab.store.runs import RunStore, RunStoreError
from fmnist_lab.ui.common import plain, runs_executor, session_owner, set_current_run

SEED_CHOICES = (1, 2, 3, 5)  # 2: the smallest group with a spread, the quickest to try
PAIR_KEY = "compare_groups"  # session state: the two groups this tab compares


def cost_line(configs: list[TrainConfig], runs: RunStore, slots: int) -> str:
    """What a click costs: the runs and their estimated time at this server's measured speed."""
    seconds = sum(measured_speed(runs).seconds(config) for config in configs)
    at_once = seconds / max(1, min(slots, len(configs)))
    return (
        f"{len(configs)} runs, about {seconds:,.0f} s of training on this server ({slots} at a time: ~{at_once:,.0f} s)"
    )


def classic_groups_ui(runs: RunStore) -> None:
    """The classic pair, 128 vs 1024 units, each over 1, 2, 3 or 5 seeds, with its cost shown before the click."""
    left, right = st.columns(2)
    epochs = left.slider("Epochs for every run", 1, 50, 5, key="compare_epochs")
    seeds = right.radio(
        "Seeds per side", SEED_CHOICES, index=SEED_CHOICES.index(5), horizontal=True, key="compare_seeds"
    )
    sides = [seed_series(config, seeds) for config in compare.classic_pair(epochs)]
    configs = [config for side in sides for config in side]
    st.caption(cost_line(configs, runs, runs_executor().capacity()))
    if st.button(f"Train 128 vs 1024, {seeds} seed{'s' * (seeds > 1)} each", key="compare_train_pair"):
        try:
            queued = runs_executor().submit_all(configs, None, session_owner())  # all or none
        except RunStoreError as exc:
            st.error(f"**Could not start the runs** (none was queued). {exc}")
            return
        ids = [run.id for run in queued]
        groups = GroupStore(runs)
        made = [groups.create(ids[i * seeds : (i + 1) * seeds], owner=session_owner()).id for i in range(2)]
        st.session_state[PAIR_KEY] = made
        set_current_run(ids[-1])
        st.rerun()  # the sidebar, drawn before the click, now shows the new runs


def group_pair_ui(groups: GroupStore) -> tuple[str, str] | None:
    """Two groups to compare: the last pair this tab trained, else the newest two (the fewer hidden units
    as A, so the classic pair reads the same way whichever of its groups was written first); None without two."""
    stored = groups.list()
    if len(stored) < 2:
        return None
    labels = {group.id: f"{group.label()} · {group.created[:16].replace('T', ' ')}" for group in stored}
    newest = sorted(stored[:2], key=lambda group: (group.config().hidden_units, group.created, group.id))
    wanted = [g for g in st.session_state.get(PAIR_KEY, []) if g in labels] or [group.id for group in newest]
    left, right = st.columns(2)
    ids = list(labels)
    a = left.selectbox("Group A", ids, ids.index(wanted[0]), format_func=labels.__getitem__, key="compare_group_a")
    b = right.selectbox("Group B", ids, ids.index(wanted[1]), format_func=labels.__getitem__, key="compare_group_b")
    return (a, b) if a != b else None


def group_comparison_ui(groups: GroupStore, a_id: str, b_id: str) -> None:
    """The two groups' spread, table and verdict; members still training are counted, not compared."""
    try:
        a, b = spread.load_side(groups, a_id), spread.load_side(groups, b_id)
        result = spread.compare_sides(a, b)
    except (GroupError, RunStoreError) as exc:
        st.info(f"{plain(str(exc))} The comparison appears once both groups have finished runs.")
        return
    for side, label in ((a, result.label_a), (b, result.label_b)):
        if active := side.counts.get("active", 0):
            st.caption(f"{plain(label)}: {active} run{'s' * (active > 1)} still queued or training.")
    st.info(f"**{plain(result.verdict)}**\n\n{_test_line(result)}")
    st.dataframe(_table(result), hide_index=True)
    _band_charts(groups, _sides(a, b, result))
    try:
        per_class = [(label, spread.side_class_spread(groups.runs, side)) for side, label in _sides(a, b, result)]
    except RunStoreError as exc:
        st.caption(f"Per-class accuracy needs every member's test predictions: {plain(str(exc))}")
        return
    st.plotly_chart(class_error_bars(per_class))


def _band_charts(groups: GroupStore, sides: list[tuple[spread.Side, str]]) -> None:
    """Held-out accuracy and loss, each side's mean curve with its band; a damaged member's history says so."""
    left, right = st.columns(2)
    for column, metric, title in ((left, "val_accuracy", "Held-out accuracy"), (right, "val_loss", "Held-out loss")):
        try:
            curves = [(label, spread.side_curve(groups.runs, side, metric)) for side, label in sides]
        except RunStoreError as exc:
            column.caption(f"The curves need every finished member's history: {plain(str(exc))}")
            continue
        if all(curve.epochs for _, curve in curves):
            column.plotly_chart(band_curves(curves, title))


def single_runs_verdict(groups: GroupStore, a_id: str, b_id: str) -> str:
    """Runs 1 and 2 compared as a group of one each: the difference, and that one run each says nothing of luck."""
    try:
        return spread.compare_sides(spread.load_side(groups, a_id), spread.load_side(groups, b_id)).verdict
    except (GroupError, RunStoreError):
        return ""


def _sides(a: spread.Side, b: spread.Side, result: spread.Comparison) -> list[tuple[spread.Side, str]]:
    return [(a, result.label_a), (b, result.label_b)]


def _test_line(result: spread.Comparison) -> str:
    if result.test is None:
        return "No test: one side has a single run."
    return f"Test: {result.test}, p = {result.p_value:.3f}; the band on the curves is ±1 sd of the runs."


def _table(result: spread.Comparison) -> list[dict[str, object]]:
    return [{k: row.get(k) for k in ("", "runs", "test accuracy")} for row in spread.table(result)]


REPEATS_PARAM = "repeats"  # ?repeats=5 on the Train page: the setup over 5 seeds
MAX_REPEATS = 10


def linked_repeats(text: str | None) -> int:
    """The link's ``repeats=`` as 1–10 (ASCII digits only); anything else is 1."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 2:
        return 1
    return min(max(int(text), 1), MAX_REPEATS)


def repeats_ui() -> int:
    """How many seeds the Train button trains the setup over (1: one run), pre-filled from ``?repeats=``."""
    key = "train_repeats"
    if key not in st.session_state:
        st.session_state[key] = linked_repeats(st.query_params.get(REPEATS_PARAM))
    repeats = int(st.number_input("Repeat over seeds", 1, MAX_REPEATS, key=key, help=REPEATS_HELP))
    if repeats > 1:
        st.query_params[REPEATS_PARAM] = str(repeats)
    else:
        st.query_params.pop(REPEATS_PARAM, None)
    return repeats


REPEATS_HELP = (
    "Train the same setup with this many seeds (the seed, then the next ones), as a group. One run's accuracy "
    "moves by a few tenths of a point from seed to seed: the group's spread shows how much, and Compare says "
    "whether a difference is larger than that."
)


def start_training(config: TrainConfig, repeats: int) -> str:
    """Queue the setup (over ``repeats`` seeds, as a group; all or none); the run to watch."""
    runs = runs_executor().submit_all(seed_series(config, repeats), None, session_owner())
    if repeats > 1:
        GroupStore(runs_executor().store).create([run.id for run in runs], owner=session_owner())
    return runs[0].id
