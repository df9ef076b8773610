"""Class gallery: every run on this server, best first — for a workshop's shared results."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.analysis import compare
from fmnist_lab.ui import analysis

runs, current = ui.start_page("Class gallery")
ui.dataset_or_stop()  # the same how-to on every page when the data set is missing
st.caption("Every finished run on this server, from every learner, best test accuracy first. Pick one to open it.")
finished = sorted(analysis.analysable_runs(runs), key=lambda run: -(run.test_accuracy or 0))
if not finished:
    st.info("No finished runs on this server yet.")
    st.stop()
groups = compare.data_groups(finished)
group = st.radio(
    "Ranked among runs with",
    list(groups),
    horizontal=True,
    key="gallery_group",
    help="Fewer training (or test) images change the scores: runs are ranked only against runs like them.",
)
finished = groups[group]
table = compare.gallery_table(finished)
picked = st.dataframe(
    table.style.format(compare.TABLE_FORMAT, na_rep="–"),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="gallery_table",
)
rows = picked.selection.rows if picked else []
if rows and finished[rows[0]].id != current:
    ui.set_current_run(finished[rows[0]].id)
    st.rerun()  # redraw the sidebar with the new current run
if current in {run.id for run in finished}:
    st.success("The highlighted run is the current one: open it on any page from the sidebar.")
