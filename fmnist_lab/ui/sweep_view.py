"""The Sweep page's parts: start a sweep, pick a stored one, and watch its runs arrive."""

from __future__ import annotations

import streamlit as st

from fmnist_lab.analysis.sweep import (
    Sweep,
    SweepError,
    SweepStore,
    picker_labels,
    point_rows,
    shared_training,
    table_rows,
)
from fmnist_lab.charts.sweep import sweep_curves, sweep_heatmap
from fmnist_lab.config import SETTINGS
from fmnist_lab.store.runs import RunStoreError
from fmnist_lab.ui.common import runs_executor, session_owner

PICK_KEY = "sweep_pick"  # session state: the sweep this tab shows
POLL_SECONDS = 2.0  # the sweep view redraws this often while any of its runs is queued or training
TABLE_FORMAT = {
    "held-out accuracy": "{:.2%}",
    "test accuracy": "{:.2%}",
    "CPU s / epoch": "{:.2f}",
    "s / epoch": "{:.2f}",
    "parameters": "{:,}",
    "epochs run": "{:.0f}",
}
EMPTY = "–"  # a queued or running row's missing numbers
TIMING_NOTE = (
    "**CPU s / epoch** is the CPU time the run's own training process used per epoch, summed over its "
    "threads: it barely changes when other runs share the machine, so it compares the settings' cost. "
    "**s / epoch** is wall-clock time, which also counts waiting for the cores."
)

SPREAD_NOTE = (
    "Each point trained over {repeats} seeds: the curve is their mean and the shaded band ±1 sd (a heatmap cell, "
    "the mean). Where the bands of two points overlap, the seeds alone could explain the difference."
)


def start(sweeps: SweepStore, sweep: Sweep) -> None:
    """Queue every run of ``sweep`` (all or none), record them in it; then show the sweep."""
    configs = sweep.configs()
    try:
        runs = runs_executor().submit_all(configs, [f"sweep · {c.summary()}" for c in configs], session_owner())
    except RunStoreError as exc:
        st.error(f"**Could not start the sweep** (no run was queued). {exc}")
        return
    sweep = sweeps.save(sweep)
    for run in runs:
        sweep = sweeps.add_run(sweep, run.id)
    st.session_state[PICK_KEY] = sweep.id


def sweep_picker(sweeps: SweepStore) -> Sweep | None:
    """A choice of the stored sweeps, newest first; None when there are none."""
    stored = {sweep.id: sweep for sweep in sweeps.list()}
    if not stored:
        return None
    if st.session_state.get(PICK_KEY) not in stored:
        st.session_state[PICK_KEY] = next(iter(stored))
    labels = picker_labels(list(stored.values()))
    picked = st.selectbox("Sweep", list(stored), format_func=labels.__getitem__, key=PICK_KEY)
    return stored[picked]


def is_active(sweeps: SweepStore, sweep: Sweep) -> bool:
    """Whether any of the sweep's runs still waits or trains."""
    return any(row["state"] in ("queued", "running") for row in table_rows(sweep, sweeps.runs))


def show(sweeps: SweepStore, sweep_id: str) -> None:
    """The sweep's chart (a curve for one setting, a heatmap for two) and its table, as they are now."""
    try:
        sweep = sweeps.load(sweep_id)
    except SweepError as exc:
        st.error(str(exc))
        return
    rows = table_rows(sweep, sweeps.runs)
    finished, total = sum(row["test accuracy"] is not None for row in rows), len(sweep.configs()) * sweep.repeats
    st.progress(finished / max(total, 1), text=f"{finished} of {total} runs finished")
    labels = [SETTINGS[name].label for name in sweep.settings]
    points = point_rows(rows, labels) if sweep.repeats > 1 else rows  # a point's mean and sd over its seeds
    if len(labels) == 1:
        st.plotly_chart(sweep_curves(points, labels[0]), key="sweep_chart")
    else:
        grid = (sweep.axis(0), sweep.axis(1))
        st.plotly_chart(sweep_heatmap(points, labels[0], labels[1], grid), key="sweep_chart")
    if sweep.repeats > 1:
        st.caption(SPREAD_NOTE.format(repeats=sweep.repeats))
    if rows:
        st.dataframe(sweeps_table(rows), hide_index=True, key="sweep_table")
        st.caption(TIMING_NOTE + " Every run is an ordinary run: compare any two of them on the Compare page.")
        if note := contention_note(sweeps, sweep):
            st.warning(note)


def contention_note(sweeps: SweepStore, sweep: Sweep) -> str | None:
    """A warning naming the members that trained while other runs did, or None."""
    shared = shared_training(sweep, sweeps.runs)
    if not shared:
        return None
    return (
        f"{len(shared)} of this sweep's runs trained while other runs did, so their wall-clock **s / epoch** "
        "includes waiting for the cores and cannot be compared; **CPU s / epoch** can (runs trained before "
        "the lab recorded it show –)."
    )


def sweeps_table(rows: list[dict]) -> object:
    import pandas as pd

    return pd.DataFrame(rows).style.format(na_rep=EMPTY).format(TABLE_FORMAT, na_rep=EMPTY)
