"""Bias lab: starve one class of training images, measure what it costs that class, then try the fixes."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.analysis import compare
from fmnist_lab.ui import analysis, bias_ui

runs, current = ui.start_page("Bias lab")
ui.dataset_or_stop()
st.markdown(
    "Fashion-MNIST's classes stand in for groups of people. Here you **cause** a bias on purpose: train "
    "with only a small share of one class's images, as a data collection that under-samples a group "
    "would, and see how the model serves that class. **The test set stays balanced and untouched**: "
    "every run is scored on the same 10,000 test images, 1,000 of each class, so the runs compare fairly."
)

exercise = bias_ui.exercise_runs(runs)
with st.expander("Set up the exercise", expanded=not exercise):
    st.markdown(
        "One click queues: a **baseline** on every training image, the **biased** run, and one run per "
        "mitigation — **class-weights** (rare images count more in the loss), **oversample** (repeat "
        "them), **augment** (add shifted and mirrored copies), and an **L2 penalty** (which the notes also "
        "list) — with 128 units and everything else equal."
    )
    starved, share, epochs, seeds = bias_ui.exercise_ui()
    if st.button("Set up the exercise", icon=":material/play_arrow:", key="bias_setup"):
        outcome = bias_ui.submit_exercise(compare.bias_exercise(starved, share, epochs), seeds)
        if isinstance(outcome, str):
            st.error(outcome)
        else:
            st.success(f"{len(outcome)} runs queued. They train one after another; results appear below as each ends.")
            exercise = bias_ui.exercise_runs(runs)
if exercise:
    st.subheader("The exercise, side by side")
    bias_ui.comparison_view(runs, exercise)

st.subheader("One run alone")
finished = {run.id for run in analysis.analysable_runs(runs)}
if current in finished:
    bias_ui.single_run_view(runs, runs.load(current))
else:
    st.info("Pick a finished run in the sidebar to see its fairness on the test set.")
