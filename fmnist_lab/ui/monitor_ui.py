"""The Monitor page's parts: choose how the stream drifts, watch the deployed run's days, run an A/B test.

Every number comes from ``fmnist_lab.analysis.monitoring`` (NumPy, the runs' stored weights), cached
per run, weights file and stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from fmnist_lab.analysis import monitoring
from fmnist_lab.analysis.monitoring import MONITORED, DayScore, Drift, Stream
from fmnist_lab.charts import monitoring as charts
from fmnist_lab.store.runs import Run, RunNotFound, RunStore, unique_labels
from fmnist_lab.training.data import Dataset
from fmnist_lab.ui import analysis
from fmnist_lab.ui.common import plain

DRIFT_WORDS = {  # the drift choices as the learner reads them
    "mix": "Shirts grow: more and more of the day's images are shirts",
    "darker": "Images get darker: a camera's exposure drifts",
    "new shoe": "A new kind of shoe: high tops (stretched, mirrored sneakers) appear",
}
STRENGTH = {  # per drift: (slider label, low, high, default)
    "mix": ("Shirts' share on the last day", 0.1, 0.9, 0.4),
    "darker": ("Brightness on the last day", 0.1, 1.0, 0.4),
    "new shoe": ("High tops' share on the last day", 0.0, 0.9, 0.3),
}
DAYS, PER_DAY, BASELINE = 28, 300, 7  # four weeks of 300 images; the band from the first week


def stream_ui() -> Stream:
    """The drift, the day it starts and how far it goes; four weeks of 300 images a day."""
    left, middle, right = st.columns(3)
    kind = left.selectbox("What drifts", list(DRIFT_WORDS), format_func=DRIFT_WORDS.__getitem__, key="monitor_drift")
    start = middle.slider("Drift starts on day", BASELINE + 1, DAYS, 15, key="monitor_start")
    label, low, high, default = STRENGTH[kind]
    strength = right.slider(label, low, high, default, step=0.05, key=f"monitor_strength_{kind}")
    return Stream(DAYS, PER_DAY, BASELINE, Drift(kind, start, float(strength)))


@st.cache_data(max_entries=16, show_spinner="Serving the days' images…")
def _scores(run_id: str, root: str, stamp: int, stream: Stream, _dataset: Dataset) -> list[DayScore]:
    run = RunStore(root).load(run_id)
    weights = RunStore(root).weights(run_id)
    x, y = _dataset.x_test, _dataset.y_test
    return monitoring.watch(weights, run.config.activation, run.config.normalize, x, y, stream)


def scores(runs: RunStore, run: Run, dataset: Dataset, stream: Stream) -> list[DayScore] | None:
    """The run's days on ``stream``, or None (with a message) when it has no stored weights."""
    try:
        return _scores(run.id, str(runs.root), analysis.file_stamp(runs, run.id, "weights.npz"), stream, dataset)
    except RunNotFound as exc:
        st.warning(f"**{plain(run.name)}** cannot be deployed here: {exc}")
        return None


def days_view(days: Sequence[DayScore], stream: Stream) -> None:
    """Each monitored figure in its band with its alerts, then recall per class and the confidence."""
    for figure_name in MONITORED:
        values = [day.figure(figure_name) for day in days]
        band = monitoring.band(values[: stream.baseline])
        fired = monitoring.alerts(values, stream.baseline)
        st.plotly_chart(charts.monitored_figure(days, figure_name, band, stream.baseline, fired))
        st.caption(alert_sentence(figure_name, band, fired))
    st.plotly_chart(charts.recall_heatmap(days))
    st.caption("Recall: the share of each class's images the model got right that day.")
    compared = st.slider("Compare day 1's confidence with day", 2, len(days), len(days), key="monitor_day")
    st.plotly_chart(charts.confidence_histograms(days, [1, compared]))


def alert_sentence(figure_name: str, band: monitoring.Band, fired: Sequence[int]) -> str:
    expected = f"band {band.low:.1%} to {band.high:.1%} (mean {band.mean:.1%} ± 3 × {band.sd:.2%})"
    if not fired:
        return f"**{figure_name.capitalize()}** stayed in its {expected}: no alert."
    return f"🚨 **{figure_name.capitalize()}** left its {expected} on {len(fired)} days, first on **day {fired[0]}**."


def ab_view(runs: RunStore, deployed: Run, candidates: Sequence[Run], dataset: Dataset, stream: Stream) -> None:
    """Run A (the deployed run) serves odd days, the chosen run B even days; the verdict says if B is better."""
    others = [run for run in candidates if run.id != deployed.id]
    if not others:
        st.info("An A/B test needs a second finished run: train one with another setting.")
        return
    labels = unique_labels(others)
    b_id = st.selectbox("Run B (A is the run above)", list(labels), format_func=labels.__getitem__, key="monitor_b")
    challenger = next(run for run in others if run.id == b_id)
    days_a, days_b = scores(runs, deployed, dataset, stream), scores(runs, challenger, dataset, stream)
    if days_a is None or days_b is None:
        return
    a, b = monitoring.alternate(days_a, days_b)
    names = (f"A: {deployed.name}", f"B: {challenger.name}")
    st.plotly_chart(charts.ab_days(a, b, names))
    result = monitoring.ab_test(days_a, days_b, *names)
    interval = (
        "" if result.interval is None else f", 95 % interval {result.interval[0]:+.2f} to {result.interval[1]:+.2f}"
    )
    st.markdown(f"**B − A: {result.difference:+.2f} points** ({result.test}{interval}). {plain(result.verdict)}")
    st.caption("Each day is one sample. The drift hits both runs' days alike, since they take turns.")
