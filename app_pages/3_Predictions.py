"""Predictions: the softmax output for test images, a softmax playground, and your own picture."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.ui import analysis, predictions_ui

runs, current = ui.start_page("What the model outputs")
dataset = ui.dataset_or_stop()
browse, playground, own = st.tabs(["Test images", "Softmax playground", "Your own picture"])

with playground:
    predictions_ui.softmax_playground()  # needs no run

with browse:
    run = analysis.run_or_note(runs, current)  # a note, not st.stop(): the other tabs still draw
    if run is not None:
        predictions_ui.test_images(runs, run, dataset)

with own:
    predictions_ui.own_picture(runs, run, current)
