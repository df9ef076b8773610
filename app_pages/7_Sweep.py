"""Sweep: train a series with everything equal but one setting, and watch the returns diminish."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.analysis.sweep import DEFAULT_SETTING, DEFAULT_VALUES, SweepStore, new_sweep
from fmnist_lab.config import TrainConfig
from fmnist_lab.ui import sweep_view

runs, current = ui.start_page("Diminishing returns: a sweep")
ui.dataset_or_stop()  # the same how-to on every page when the data set is missing
st.caption(
    "Seven runs with every setting equal (the seed too) but the hidden units: 16, 32, 64 … 1024. Accuracy "
    "climbs fast, then flattens, while the time per epoch keeps growing. Two settings at once: "
    "`python -m fmnist_lab sweep --hidden-units 64,256,1024 --epochs 5,15,30`."
)
sweeps = SweepStore(runs)
with st.expander("Start the hidden-units sweep: 16 → 1024", expanded=not sweeps.list()):
    epochs = st.slider("Epochs for every run", 1, 30, 5, key="sweep_epochs")
    if st.button("Start the sweep", icon=":material/play_arrow:", type="primary", key="sweep_start"):
        sweep_view.start(sweeps, new_sweep(TrainConfig(epochs=epochs), {DEFAULT_SETTING: DEFAULT_VALUES}))

chosen = sweep_view.sweep_picker(sweeps)
if chosen is None:
    st.info("No sweeps yet: start one above, or from the command line with `python -m fmnist_lab sweep`.")
    st.stop()
every = sweep_view.POLL_SECONDS if sweep_view.is_active(sweeps, chosen) else None
st.fragment(sweep_view.show, run_every=every)(sweeps, chosen.id)
