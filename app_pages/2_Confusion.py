"""Confusion: which classes the current run mixes up, the images behind each cell, and who it serves worst."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.analysis import metrics
from fmnist_lab.charts.confusion import class_accuracy, confusion_heatmap
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.ui import analysis, confusion_ui

runs, current = ui.start_page("Where the model gets confused")
dataset = ui.dataset_or_stop()
run = analysis.run_or_stop(runs, current)
epoch = analysis.epoch_ui(runs, run, "confusion")
probabilities, labels = analysis.run_predictions(runs, run.id, epoch)
cm, report = analysis.run_confusion(runs, run.id, epoch)
st.caption(f"{ui.plain(run.label())} · {len(labels):,} test images · {analysis.epoch_note(epoch)}")

group = confusion_ui.group_choice(runs, run.id)
if group is not None and (mean := confusion_ui.group_heatmap(runs, group)) is not None:
    st.plotly_chart(mean, key="confusion_group")
    st.caption("Hover a cell for its spread over the group's runs. Below: this run's own numbers and images.")
    clicked = None
else:
    if group is not None:
        st.info("None of the group's runs has finished yet: this run's matrix instead.")
    normalised = st.toggle("Show each row as % of its true class", key="confusion_normalised")
    heatmap = confusion_heatmap(cm, normalised, clickable=True)
    clicked = st.plotly_chart(heatmap, on_select="rerun", selection_mode="points", key="confusion_cells")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Per class")
    per_class = report.drop(columns="accuracy")  # a class's accuracy is its recall: one column, not two
    st.dataframe(per_class.style.format({"precision": "{:.1%}", "recall": "{:.1%}", "f1": "{:.1%}"}))
    st.caption("Recall is the class's accuracy: the share of its images the model got right.")
with right:
    st.subheader("Most confused pairs")
    pairs = metrics.most_confused_pairs(cm, top=6)
    for true, pred, count in pairs:
        st.markdown(f"- **{CLASS_NAMES[true]}** taken for **{CLASS_NAMES[pred]}**: {count} images")

st.subheader("The images behind a cell")
analysis.pick_cell(clicked, pairs[0][:2] if pairs else (0, 0), "confusion")
pick_true, pick_pred = st.columns(2)
true_class = pick_true.selectbox("True class", range(10), format_func=CLASS_NAMES.__getitem__, key="confusion_true")
pred_class = pick_pred.selectbox("Predicted as", range(10), format_func=CLASS_NAMES.__getitem__, key="confusion_pred")
cell = metrics.cell_indices(labels, probabilities, true_class, pred_class)
st.caption(f"{len(cell)} test images, most confident first (showing up to 24). Click a cell above to pick it.")
shown = cell[:24]
analysis.gallery(dataset.x_test[shown], [analysis.top_caption(i, probabilities[i]) for i in shown])
confusion_ui.why_for_cell(runs, run, dataset.x_test, shown, true_class)

st.subheader("Who the model serves worst")
gap = metrics.accuracy_gap(report)
st.plotly_chart(class_accuracy(report["accuracy"].to_numpy()))
st.markdown(
    f"Best: **{gap['best_class']}** ({gap['best_accuracy']:.1%}); "
    f"worst: **{gap['worst_class']}** ({gap['worst_accuracy']:.1%}) — a gap of **{gap['gap']:.1%}**, "
    "though every class had the same number of training images."
)
st.info(confusion_ui.worst_class_text(cm))
