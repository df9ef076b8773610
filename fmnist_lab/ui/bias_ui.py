"""The Bias lab's parts: set up the exercise, remember its runs, and show their fairness side by side.

The exercise's run ids live in the page address (``?exercise=id,id,…``) and in session state, so a
reload or a copied link shows the same comparison. The numbers are computed from each run's stored
test-set predictions (``fmnist_lab.analysis.fairness``), cached until the file changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from fmnist_lab.analysis import compare, fairness, metrics
from fmnist_lab.charts.fairness import per_class_metric_comparison, reliability_diagram
from fmnist_lab.config import CLASS_NAMES, TrainConfig
from fmnist_lab.store.runs import InvalidRunId, Run, RunNotFound, RunStore, RunStoreError, unique_labels
from fmnist_lab.ui import analysis
from fmnist_lab.ui.common import runs_executor, session_owner, set_current_run

EXERCISE_PARAM = "exercise"  # ?exercise=<id>,<id>,… in the address
EXERCISE_KEY = "bias_exercise"  # session state: the same ids
NAME_PREFIX = "bias lab · "  # the exercise's run names, so pickers tell them from a learner's own runs
DEFAULT_STARVED = CLASS_NAMES.index("Shirt")
TABLE_FORMAT = {
    "overall accuracy": "{:.2%}",
    "starved recall": "{:.2%}",
    "starved FPR": "{:.2%}",
    "TPR gap": "{:.2%}",
    "FPR gap": "{:.2%}",
    "ECE": "{:.3f}",
}
MEANINGS = {  # table column → its sentence in fairness.METRIC_MEANINGS
    "starved recall": "recall",
    "starved FPR": "fpr",
    "TPR gap": "tpr_gap",
    "FPR gap": "fpr_gap",
    "ECE": "ece",
}


def exercise_ui() -> tuple[int, float, int]:
    """The starved class, its kept share and the epochs for every run."""
    left, middle, right = st.columns(3)
    starved = left.selectbox(
        "Starved class", range(len(CLASS_NAMES)), DEFAULT_STARVED, format_func=CLASS_NAMES.__getitem__, key="bias_class"
    )
    share = middle.slider("Share of its training images kept", 0.01, 1.0, 0.1, step=0.01, key="bias_share")
    epochs = right.slider("Epochs for every run", 1, 50, 5, key="bias_epochs")
    return int(starved), float(share), int(epochs)


def submit_exercise(configs: Sequence[TrainConfig]) -> list[str] | str:
    """Queue every run of the exercise and remember their ids; or a message saying why not."""
    names = [f"{NAME_PREFIX}{config.summary()}" for config in configs]  # as sweep runs carry "sweep · "
    try:
        ids = [run.id for run in runs_executor().submit_all(configs, names, session_owner())]  # all or none
    except RunStoreError as exc:
        return f"**Could not start the runs.** {exc}"
    remember(ids)
    set_current_run(ids[1])  # the biased run: the one to watch on Train
    return ids


def remember(ids: Sequence[str]) -> None:
    st.session_state[EXERCISE_KEY] = list(ids)
    st.query_params[EXERCISE_PARAM] = ",".join(ids)


def exercise_runs(runs: RunStore) -> list[Run]:
    """The exercise's runs that still exist: from the address, else this session's."""
    raw = st.query_params.get(EXERCISE_PARAM)
    ids = raw.split(",")[:12] if raw else st.session_state.get(EXERCISE_KEY, [])
    found = []
    for run_id in ids:
        try:
            found.append(runs.load(run_id.strip()))
        except (InvalidRunId, RunNotFound):
            continue
    if found and not raw:
        st.query_params[EXERCISE_PARAM] = ",".join(run.id for run in found)  # a copied link shows it too
    return found


@st.cache_data(max_entries=32, show_spinner=False)
def _fairness(run_id: str, root: str, stamp: int) -> dict[str, Any]:
    probabilities, labels = RunStore(root).predictions(run_id)
    rates = fairness.class_rates(labels, probabilities)
    return {
        "accuracy": metrics.accuracy(probabilities, labels),
        "rates": rates,
        "gaps": fairness.equalized_odds_gaps(rates),
        "reliability": fairness.confidence_reliability(labels, probabilities),
        "parity": fairness.statistical_parity(labels, probabilities),
        "class_ece": fairness.class_calibration_errors(labels, probabilities),
    }


def run_fairness(runs: RunStore, run: Run) -> dict[str, Any] | None:
    """The run's fairness on the test set, or None until it has finished with predictions."""
    if run.state not in analysis.ANALYSABLE:
        return None
    try:
        return _fairness(run.id, str(runs.root), analysis.file_stamp(runs, run.id))
    except (RunNotFound, FileNotFoundError, ValueError):
        return None


def fairness_row(label: str, run: Run, scores: dict[str, Any] | None, starved: int | None) -> dict[str, Any]:
    """One row of the exercise table; empty numbers until the run has finished."""
    row: dict[str, Any] = {"run": label, "state": run.state}
    if scores is None:
        return row | dict.fromkeys(TABLE_FORMAT)
    rates, gaps = scores["rates"], scores["gaps"]
    ece = fairness.expected_calibration_error(scores["reliability"])
    starved_rates: list[Any] = [None, None] if starved is None else list(rates.iloc[starved][["recall", "fpr"]])
    numbers = [scores["accuracy"], *starved_rates, gaps["tpr_gap"], gaps["fpr_gap"], ece]
    return row | dict(zip(TABLE_FORMAT, numbers, strict=True))


def fairness_table(runs: RunStore, chosen: Sequence[Run], starved: int | None) -> pd.DataFrame:
    labels = list(unique_labels(chosen, role_label).values())
    scores = [run_fairness(runs, run) for run in chosen]
    return pd.DataFrame([fairness_row(*row, starved) for row in zip(labels, chosen, scores, strict=True)])


def role_label(run: Run) -> str:
    """``baseline · 128 units · 5 epochs``: the run's part in the exercise, then its name."""
    return f"{compare.exercise_role(run.config)} · {run.name.removeprefix(NAME_PREFIX)}"


def meanings(columns: Sequence[str] = tuple(MEANINGS)) -> None:
    """Each column's one-sentence meaning."""
    st.markdown("\n".join(f"- **{name}**: {fairness.METRIC_MEANINGS[MEANINGS[name]]}" for name in columns))


def comparison_view(runs: RunStore, chosen: Sequence[Run]) -> None:
    """The table, then per-class recall and FPR (the starved class shaded) and the reliability diagram."""
    starved = compare.starved_class([run.config for run in chosen])
    if starved is not None:
        st.caption(f"Starved class: **{CLASS_NAMES[starved]}**.")
    table = fairness_table(runs, chosen, starved)
    st.dataframe(table.style.format(TABLE_FORMAT, na_rep="–"), hide_index=True)
    meanings()
    done = [
        (label, scores) for label, run in zip(table["run"], chosen, strict=True) if (scores := run_fairness(runs, run))
    ]
    if not done:
        st.info("The charts appear as the runs finish; watch them on the Train page.")
        return
    labels = [label for label, _ in done]
    for column, name in (("recall", "recall"), ("fpr", "false-positive rate")):
        values = [list(scores["rates"][column]) for _, scores in done]
        st.plotly_chart(per_class_metric_comparison(labels, values, name, highlight=starved))
        st.caption(fairness.METRIC_MEANINGS[column])
    st.plotly_chart(reliability_diagram(labels, [scores["reliability"] for _, scores in done]))
    st.caption(fairness.METRIC_MEANINGS["reliability"])


def class_table(scores: dict[str, Any]) -> pd.DataFrame:
    """Per class: recall, FPR, predicted vs true share and one-vs-rest calibration error."""
    table = scores["rates"][["recall", "fpr"]].join(scores["parity"][["true_share", "predicted_share", "difference"]])
    table["class ECE"] = scores["class_ece"].to_numpy(dtype=np.float64)
    return table.rename(columns={"difference": "parity difference"})


def single_run_view(runs: RunStore, run: Run) -> None:
    """One run's fairness: the summary row, the per-class table with every metric's meaning, the charts."""
    comparison_view(runs, [run])
    scores = run_fairness(runs, run)
    if scores is None:
        return
    percent = {c: "{:.1%}" for c in ("recall", "fpr", "true_share", "predicted_share")}
    st.dataframe(class_table(scores).style.format(percent | {"parity difference": "{:+.1%}", "class ECE": "{:.3f}"}))
    keys = ("true_share", "predicted_share", "parity_difference", "class_ece")
    st.markdown("\n".join(f"- **{key.replace('_', ' ')}**: {fairness.METRIC_MEANINGS[key]}" for key in keys))
