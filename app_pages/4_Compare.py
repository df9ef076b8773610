"""Compare: groups over seeds with their spread and a verdict; then 2–4 runs side by side."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.analysis import compare, metrics
from fmnist_lab.charts.compare import class_accuracy_comparison, compare_curves, confusion_difference
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.store.runs import unique_labels
from fmnist_lab.ui import analysis, groups_ui

runs, current = ui.start_page("Compare runs")
dataset = ui.dataset_or_stop()

with st.expander("Train the classic pair over seeds: 128 vs 1024 hidden units", expanded=False):
    groups_ui.classic_groups_ui(runs)

st.subheader("Groups over seeds")
groups = GroupStore(runs)
if (pair := groups_ui.group_pair_ui(groups)) is None:
    st.caption(
        "Train the classic pair over seeds above (or `python -m fmnist_lab train --repeats 5`) to compare groups."
    )
else:
    groups_ui.group_comparison_ui(groups, *pair)

st.subheader("Single runs")
candidates = analysis.analysable_runs(runs)
if len(candidates) < 2:
    st.info("Comparing needs two finished runs. Train some, or use the button above.")
    st.stop()
labels = unique_labels(candidates)
chosen_ids = st.multiselect(
    "Runs (2–4)",
    list(labels),
    compare.default_selection(candidates, lambda run: analysis.readable(runs, run)),
    format_func=labels.__getitem__,
    max_selections=4,
    key="compare_runs",
)
if len(chosen_ids) < 2:
    st.info("Pick at least two runs.")
    st.stop()
chosen = [runs.load(run_id) for run_id in chosen_ids]
if note := compare.pair_note(chosen[0], chosen[1]):
    st.warning(note)
names = [f"{i + 1}: {run.name}" for i, run in enumerate(chosen)]

left, right = st.columns(2)
histories = [
    (name, analysis.or_stop(lambda r=run: runs.history(r.id), name)) for name, run in zip(names, chosen, strict=True)
]
left.plotly_chart(compare_curves(histories, "accuracy"))
right.plotly_chart(compare_curves(histories, "loss"))
table = compare.summary_table(chosen)
st.dataframe(table.style.format(compare.TABLE_FORMAT, na_rep="–"), hide_index=True)
st.caption(groups_ui.single_runs_verdict(groups, chosen[0].id, chosen[1].id))

epoch = analysis.common_epoch_ui(runs, chosen, "compare")  # below: the runs as they were after that epoch
confusions = [analysis.or_stop(lambda r=run: analysis.run_confusion(runs, r.id, epoch), run.name) for run in chosen]
st.plotly_chart(class_accuracy_comparison(names, [report["accuracy"] for _, report in confusions]))

st.subheader(f"{ui.plain(names[0])} vs {ui.plain(names[1])}, {analysis.epoch_note(epoch)}")
(probs_a, labels_a), (probs_b, labels_b) = (analysis.run_predictions(runs, run.id, epoch) for run in chosen[:2])
try:
    flips = metrics.flipped(labels_a, probs_a, probs_b, labels_b)
except ValueError as exc:
    st.warning(f"These two runs were tested on different images, so they cannot be compared image by image. {exc}")
    st.stop()
st.plotly_chart(
    confusion_difference(metrics.confusion_difference(confusions[0][0], confusions[1][0]), (names[0], names[1]))
)
for key, winner, loser, probs in (("a_only", names[0], names[1], probs_b), ("b_only", names[1], names[0], probs_a)):
    shown = flips[key][:12]
    st.markdown(
        f"**Right in {ui.plain(winner)}, wrong in {ui.plain(loser)}**: {len(flips[key])} images "
        "(the true class, then the loser's guess)"
    )
    captions = [f"true {CLASS_NAMES[labels_a[i]]} → {analysis.top_caption(i, probs[i], k=1)}" for i in shown]
    analysis.gallery(dataset.x_test[shown], captions)
