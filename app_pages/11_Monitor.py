"""Monitor: a finished run is deployed on four weeks of drifting test images; watch it, catch the drift, A/B test."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.ui import analysis, monitor_ui

runs, current = ui.start_page("Monitoring a deployed model")
dataset = ui.dataset_or_stop()
st.markdown(
    "Training ends; the model goes to work. Here the current run is **deployed** on four weeks of images "
    "drawn from the real test set, 300 a day. For the first days they look like the test set. Then something "
    "**drifts**, a little more each day. The first week sets each figure's expected **band** (mean ± 3 sd); "
    "an **alert** fires on a day outside it. The model never retrains: you watch what happens to it."
)
run = analysis.run_or_stop(runs, current)
stream = monitor_ui.stream_ui()
days = monitor_ui.scores(runs, run, dataset, stream)
if days is None:
    st.stop()
st.subheader(f"{ui.plain(run.name)}, day by day")
monitor_ui.days_view(days, stream)

st.subheader("A/B test: is another run better?")
monitor_ui.ab_view(runs, run, analysis.analysable_runs(runs), dataset, stream)
