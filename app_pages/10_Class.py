"""Class: the instructor's view of the whole class, live; ``?projector=1`` for the room's screen."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.ui import class_ui

runs, _ = ui.start_page("The class")
ui.dataset_or_stop()  # the same how-to on every page when the data set is missing
class_ui.require_instructor()
projector = class_ui.projector_mode()
st.fragment(class_ui.live, run_every=class_ui.REFRESH_SECONDS)(str(runs.root), projector)
if not projector:
    st.divider()
    class_ui.push_control(str(runs.root))
    st.caption("For the room's screen: add `?projector=1` to this page's address (large type, no sidebar).")
