"""The Sweep page's parts: start a sweep, pick a stored one, and watch its runs arrive."""

from __future__ import annotations

import streamlit as st

from fmnist_lab.analysis.sweep import Sweep, SweepError, SweepStore, table_rows
from fmnist_lab.charts.sweep import sweep_curves, sweep_heatmap
from fmnist_lab.config import SETTINGS
from fmnist_lab.store.runs import RunStoreError
from fmnist_lab.ui.common import runs_executor, session_owner

PICK_KEY = "sweep_pick"  # session state: the sweep this tab shows
POLL_SECONDS = 2.0  # the sweep view redraws this often while any of its runs is queued or training
TABLE_FORMAT = {"held-out accuracy": "{:.2%}", "test accuracy": "{:.2%}", "s / epoch": "{:.2f}", "parameters": "{:,}"}


def start(sweeps: SweepStore, sweep: Sweep) -> None:
    """Submit every run of ``sweep`` to the queue, recording each as it is made; then show the sweep."""
    sweep = sweeps.save(sweep)
    try:
        for config in sweep.configs():
            run = runs_executor().submit(config, f"sweep · {config.summary()}", owner=session_owner())
            sweep = sweeps.add_run(sweep, run.id)
    except RunStoreError as exc:
        st.error(f"**Could not start every run of the sweep.** {exc}")
    st.session_state[PICK_KEY] = sweep.id


def sweep_picker(sweeps: SweepStore) -> Sweep | None:
    """A choice of the stored sweeps, newest first; None when there are none."""
    stored = {sweep.id: sweep for sweep in sweeps.list()}
    if not stored:
        return None
    if st.session_state.get(PICK_KEY) not in stored:
        st.session_state[PICK_KEY] = next(iter(stored))
    label = lambda sweep_id: f"{stored[sweep_id].created[:16]} · {stored[sweep_id].name}"  # noqa: E731
    picked = st.selectbox("Sweep", list(stored), format_func=label, key=PICK_KEY)
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
    finished = sum(row["test accuracy"] is not None for row in rows)
    st.progress(finished / max(len(sweep.configs()), 1), text=f"{finished} of {len(sweep.configs())} runs finished")
    labels = [SETTINGS[name].label for name in sweep.settings]
    if len(labels) == 1:
        st.plotly_chart(sweep_curves(rows, labels[0]), key="sweep_chart")
    else:
        grid = (sweep.axis(0), sweep.axis(1))
        st.plotly_chart(sweep_heatmap(rows, labels[0], labels[1], grid), key="sweep_chart")
    if rows:
        st.dataframe(sweeps_table(rows), hide_index=True, key="sweep_table")
        st.caption("Every run is an ordinary run: compare any two of them on the Compare page.")


def sweeps_table(rows: list[dict]) -> object:
    import pandas as pd

    return pd.DataFrame(rows).style.format(TABLE_FORMAT, na_rep="–")
