"""The Bias lab's parts: set up the exercise, remember its runs, and show their fairness side by side.

The exercise's run ids live in the page address (``?exercise=id,id,…``) and in session state, so a
reload or a copied link shows the same comparison. The numbers are computed from each run's stored
test-set predictions (``fmnist_lab.analysis.fairness``), cached until the file changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from fmnist_lab.analysis import compare, fairness, metrics, statistics
from fmnist_lab.charts.fairness import per_class_metric_comparison, reliability_diagram
from fmnist_lab.config import CLASS_NAMES, TrainConfig
from fmnist_lab.store.groups import MAX_MEMBERS, GroupStore, seed_series
from fmnist_lab.store.runs import InvalidRunId, Run, RunNotFound, RunStore, RunStoreError, unique_labels
from fmnist_lab.ui import analysis
from fmnist_lab.ui.common import plain, runs_executor, session_owner, set_current_run, store

EXERCISE_PARAM = "exercise"  # ?exercise=<id>,<id>,… in the address
EXERCISE_KEY = "bias_exercise"  # session state: the same ids
NAME_PREFIX = "bias lab · "  # the exercise's run names, so pickers tell them from a learner's own runs
DEFAULT_STARVED = CLASS_NAMES.index("Shirt")
MAX_SEEDS = 5  # seeds per role: 6 roles × 5 = 30 runs at most
MAX_EXERCISE_RUNS = 6 * MAX_MEMBERS  # ids read from the address
SPREAD_COLUMNS = ("starved recall", "TPR gap", "FPR gap")  # shown with 95 % intervals over seeds
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


def exercise_ui() -> tuple[int, float, int, int]:
    """The starved class, its kept share, the epochs for every run and the seeds per role."""
    left, middle, right, seeds = st.columns(4)
    starved = left.selectbox(
        "Starved class", range(len(CLASS_NAMES)), DEFAULT_STARVED, format_func=CLASS_NAMES.__getitem__, key="bias_class"
    )
    share = middle.slider("Share of its training images kept", 0.01, 1.0, 0.1, step=0.01, key="bias_share")
    epochs = right.slider("Epochs for every run", 1, 50, 5, key="bias_epochs")
    repeats = seeds.slider(
        "Seeds per run", 1, MAX_SEEDS, 1, key="bias_seeds", help="Train each role over this many seeds: intervals."
    )
    return int(starved), float(share), int(epochs), int(repeats)


def submit_exercise(configs: Sequence[TrainConfig], seeds: int = 1) -> list[str] | str:
    """Queue every run of the exercise (each role over ``seeds`` seeds, stored as a group) and remember
    their ids; or a message saying why not."""
    series = [seed_series(config, seeds) for config in configs]
    flat = [config for role in series for config in role]
    names = [f"{NAME_PREFIX}{config.summary()}" for config in flat]  # as sweep runs carry "sweep · "
    try:
        ids = [run.id for run in runs_executor().submit_all(flat, names, session_owner())]  # all or none
    except RunStoreError as exc:
        return f"**Could not start the runs.** {exc}"
    if seeds > 1:
        groups = GroupStore(store())
        for start, config in zip(range(0, len(ids), seeds), configs, strict=True):
            groups.create(ids[start : start + seeds], f"{NAME_PREFIX}{compare.exercise_role(config)}", session_owner())
    remember(ids)
    set_current_run(ids[seeds])  # the first biased run: the one to watch on Train
    return ids


def remember(ids: Sequence[str]) -> None:
    st.session_state[EXERCISE_KEY] = list(ids)
    st.query_params[EXERCISE_PARAM] = ",".join(ids)


def exercise_runs(runs: RunStore) -> list[Run]:
    """The exercise's runs that still exist: from the address, else this session's."""
    raw = st.query_params.get(EXERCISE_PARAM)
    ids = raw.split(",")[:MAX_EXERCISE_RUNS] if raw else st.session_state.get(EXERCISE_KEY, [])
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
    scores = [run_fairness(runs, run) for run in chosen]
    return pd.DataFrame([fairness_row(*row, starved) for row in zip(short_labels(chosen), chosen, scores, strict=True)])


def short_labels(chosen: Sequence[Run]) -> list[str]:
    """``biased``, or ``biased · seed 3`` where a role has several runs; unique among ``chosen``."""
    roles = Counter(compare.exercise_role(run.config) for run in chosen)

    def text(run: Run) -> str:
        role = compare.exercise_role(run.config)
        return role if roles[role] == 1 else f"{role} · seed {run.config.seed}"

    return list(unique_labels(chosen, text).values())


def role_label(run: Run) -> str:
    """``baseline · 128 units · 5 epochs``: the run's part in the exercise, then its name."""
    return f"{compare.exercise_role(run.config)} · {run.name.removeprefix(NAME_PREFIX)}"


def column_config(starved: int | None) -> dict[str, Any]:
    """Short headers and fixed widths, so every column shows at 1280 px (the class is named above the table)."""
    column = st.column_config.Column
    numbers = {"overall accuracy": "accuracy", "starved recall": "recall", "starved FPR": "FPR"}
    numbers |= {"TPR gap": "TPR gap", "FPR gap": "FPR gap", "ECE": "ECE"}
    config = {key: column(label, width="small", help=_help(key)) for key, label in numbers.items()}
    return config | {"run": column("run", width="medium"), "state": column("state", width="small")}


def _help(key: str) -> str:
    meaning = MEANINGS.get(key)
    return fairness.METRIC_MEANINGS[meaning] if meaning else "The share of all test images classified right."


def spread_rows(table: pd.DataFrame, roles: Sequence[str]) -> list[dict[str, Any]]:
    """Per role with finished runs: how many, and each of SPREAD_COLUMNS as mean (95 % interval), in %."""
    rows = []
    for role in dict.fromkeys(roles):
        mine = table[[r == role for r in roles]].dropna(subset=list(SPREAD_COLUMNS))
        if not mine.empty:
            cells = {column: interval_text(100 * mine[column].to_numpy(dtype=float)) for column in SPREAD_COLUMNS}
            rows.append({"role": role, "runs": len(mine)} | cells)
    return rows


def interval_text(values: np.ndarray) -> str:
    """``30.0 % (21.3 to 38.7)``: the mean and its 95 % interval; ``30.0 % (one run)``."""
    interval = statistics.mean_interval(values)
    spread = "one run" if interval is None else f"{interval[0]:.1f} to {interval[1]:.1f}"
    return f"{np.mean(values):.1f} % ({spread})".replace("-", "−")


def recall_verdicts(table: pd.DataFrame, chosen: Sequence[Run], starved: int) -> list[str]:
    """Each role's starved-class recall against the biased runs', in words (paired by seed where it can be)."""
    roles = [compare.exercise_role(run.config) for run in chosen]
    done = table["starved recall"].notna().to_numpy()
    side = {
        role: (
            [100 * v for v, r, d in zip(table["starved recall"], roles, done, strict=True) if r == role and d],
            [run.config.seed for run, r, d in zip(chosen, roles, done, strict=True) if r == role and d],
        )
        for role in dict.fromkeys(roles)
    }
    biased = side.pop("biased", ([], []))
    if not biased[0]:
        return []
    return [
        statistics.compare(biased[0], values, "biased", role, biased[1], seeds).verdict
        for role, (values, seeds) in side.items()
        if values
    ]


def spread_view(table: pd.DataFrame, chosen: Sequence[Run], starved: int | None) -> None:
    """The starved class's recall and the gaps over seeds with 95 % intervals; or "one run each"."""
    roles = [compare.exercise_role(run.config) for run in chosen]
    rows = spread_rows(table, roles)
    if not rows or len(rows) < 2:
        return
    if max(row["runs"] for row in rows) < 2:
        st.caption(f"{statistics.ONE_RUN_EACH} Set **Seeds per run** above to 2 or more.")
        return
    name = "starved class" if starved is None else CLASS_NAMES[starved]
    st.markdown(f"**{name} recall and the gaps over seeds**: mean and 95 % interval (t), in %.")
    labels = {"starved recall": f"{name} recall", "TPR gap": "TPR gap", "FPR gap": "FPR gap"}
    config = {key: st.column_config.Column(label, width="medium") for key, label in labels.items()}
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=config, key="bias_spread")
    if starved is not None:
        verdicts = recall_verdicts(table, chosen, starved)
        st.markdown(
            f"{name} recall, each role against the biased runs:\n" + "\n".join(f"- {plain(v)}" for v in verdicts)
        )


def meanings(columns: Sequence[str] = tuple(MEANINGS)) -> None:
    """Each column's one-sentence meaning."""
    st.markdown("\n".join(f"- **{name}**: {fairness.METRIC_MEANINGS[MEANINGS[name]]}" for name in columns))


def comparison_view(runs: RunStore, chosen: Sequence[Run]) -> None:
    """The table, then per-class recall and FPR (the starved class shaded) and the reliability diagram."""
    starved = compare.starved_class([run.config for run in chosen])
    if starved is not None:
        st.caption(f"Starved class: **{CLASS_NAMES[starved]}**.")
    table = fairness_table(runs, chosen, starved)
    st.dataframe(table.style.format(TABLE_FORMAT, na_rep="–"), hide_index=True, column_config=column_config(starved))
    meanings()
    spread_view(table, chosen, starved)
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
