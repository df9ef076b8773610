"""Train: pick hidden units, epochs, a stop-loss threshold and normalisation; watch it learn."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.store.runs import RunStoreError
from fmnist_lab.ui import groups_ui
from fmnist_lab.ui.code_ui import code_view
from fmnist_lab.ui.controls import train_controls
from fmnist_lab.ui.run_view import run_view

runs, current = ui.start_page("Train the course model")
st.caption("Flatten(28×28) → Dense(N, activation) → Dense(10, softmax) · Adam · sparse categorical cross-entropy")
ui.dataset_or_stop()  # fail here, with the how-to, rather than in the training process

controls, view = st.columns([2, 3], gap="large")  # at 1024 px the controls' labels still fit
with controls:
    watched = runs.load(current) if current is not None else None
    config = train_controls(linked=watched.config if watched else None)
    busy = watched is not None and watched.is_active and ui.may_stop(watched)  # someone else's run never blocks you
    if isinstance(config, str):
        st.error(config)
    else:
        st.caption(f"{config.parameter_count:,} parameters to learn")
    repeats = groups_ui.repeats_ui()
    clicked = st.button(
        "Train" if repeats == 1 else f"Train {repeats} seeds",
        icon=":material/play_arrow:",
        type="primary",
        key="train_start",
        disabled=isinstance(config, str) or busy,
        help="Wait for the current run, or stop it, to train another." if busy else "Start training in the background.",
    )
    if clicked and not isinstance(config, str):
        try:
            started = groups_ui.start_training(config, repeats)
        except RunStoreError as exc:
            st.error(f"**Could not start the run{'s' * (repeats > 1)}.** {exc}")
        else:
            ui.set_current_run(started)
            st.rerun()
    if not isinstance(config, str) and st.toggle("Show the code", key="train_show_code", help="The Keras code"):
        code_view(config, key="train_code")
with view:
    if current is None:
        st.info("Choose settings and press **Train**. Training runs in the background: change pages or reload freely.")
    else:
        run_view(runs, current)
