"""The Confusion page's parts: this run or its group's mean matrix, and the class this run serves worst, in words."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from fmnist_lab.analysis import spread
from fmnist_lab.charts.confusion import confusion_spread_heatmap
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.groups import Group, GroupStore
from fmnist_lab.store.runs import Run, RunNotFound, RunStore
from fmnist_lab.ui import explain_ui

SHOWN = {"run": "this run", "group": "the group's mean"}


def run_group(runs: RunStore, run_id: str) -> Group | None:
    """The newest group that ``run_id`` is a member of, or None."""
    return next((group for group in GroupStore(runs).list() if run_id in group.run_ids), None)


def group_choice(runs: RunStore, run_id: str) -> Group | None:
    """ "This run / the group's mean" when the run belongs to a group; the group if its mean is chosen."""
    group = run_group(runs, run_id)
    if group is None:
        return None
    shown = st.radio("Show", list(SHOWN), format_func=SHOWN.__getitem__, horizontal=True, key="confusion_side")
    return group if shown == "group" else None


@st.cache_data(max_entries=8, show_spinner="Averaging the group's matrices…")
def _spread(root: str, group_id: str, members: tuple[str, ...]) -> dict:
    groups = GroupStore(RunStore(root))
    return spread.side_confusion(groups.runs, spread.group_side(groups, groups.load(group_id)))


def group_heatmap(runs: RunStore, group: Group) -> go.Figure | None:
    """The group's mean matrix (rows in % of each true class) with each cell's sd on hover; None if
    no member has finished with predictions."""
    side = spread.group_side(GroupStore(runs), group)
    if not side.runs:
        return None
    try:
        result = _spread(str(runs.root), group.id, tuple(run.id for run in side.runs))
    except (RunNotFound, FileNotFoundError, ValueError):
        return None
    title = f"Mean confusion matrix over {result['n']} runs of {group.label()} (% of each true class)"
    return confusion_spread_heatmap(result["mean"], result["sd"], result["n"], title)


def worst_class_text(cm: np.ndarray) -> str:
    """What *this* matrix shows: the class served worst, its recall, and what it is most taken for."""
    cm = np.asarray(cm)
    support = cm.sum(axis=1)
    recall = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.inf)  # no images: never the worst
    worst = int(np.argmin(recall))
    others = cm[worst].copy()
    others[worst] = -1
    mistaken = int(np.argmax(others))
    taken = (
        f"most often taken for **{CLASS_NAMES[mistaken]}** ({cm[worst, mistaken]:,} of its {support[worst]:,} images)"
        if cm[worst, mistaken] > 0
        else "never taken for another class"
    )
    return (
        f"Equal data does not mean equal service. In this run **{CLASS_NAMES[worst]}** fails most: "
        f"{recall[worst]:.1%} of its test images are right, and it is {taken}. In real systems the gap grows "
        "when a group has fewer examples or noisier labels: a model can look accurate overall while serving some "
        "people much worse. Always look per class (per group), not only at the average."
    )


def why_for_cell(runs: RunStore, run: Run, images: np.ndarray, shown: np.ndarray, true_class: int) -> None:
    """Pick one of the cell's images and see why the run answered as it did (``explain_ui``)."""
    if not len(shown):
        return
    with st.expander("Why this answer? Pick one of these images", icon=":material/psychology:"):
        index = st.selectbox("Test image", [int(i) for i in shown], format_func=lambda i: f"#{i}", key="confusion_why")
        explain_ui.why_section(runs, run, images[index], true_class, "confusion_why")
