"""One run on the Train page: live progress while it trains, the results after."""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from fmnist_lab.charts.training import training_curves
from fmnist_lab.execution import ownership
from fmnist_lab.store.runs import DamagedRun, Run, RunNotFound, RunStore
from fmnist_lab.training import progress as where
from fmnist_lab.ui.code_ui import code_view
from fmnist_lab.ui.common import RUN_PARAM, may_stop, plain, runs_executor, session_owner
from fmnist_lab.ui.navigation import RUN_PAGES

# Seconds between redraws of the live view: quick for the few seconds in which a run starts, draws
# its first point or ends; once a second while it trains or is next in line (that can last a whole
# run); seldom while it waits behind others (a room of them is cheap).
POLL_SECONDS = {"soon": 0.5, "next": 1.0, "training": 1.0, "waiting": 3.0}
CURVES_NOTE = (
    "Training scores (dashed) are averaged over each epoch while the model was still learning; held-out "
    "scores (solid) come from the model at the epoch's end, so early on training accuracy can trail held-out. "
    "While a run trains, the dotted line is the training score over the last epoch's worth of batches."
)
TRAINING_TIME_HELP = "Scaling the data, building the model and fitting it; not the final scoring."


def run_view(runs: RunStore, run_id: str) -> None:
    """Live view for an active run (polling), results for an ended one; a damaged run says so."""
    try:
        _run_view(runs, run_id)
    except RunNotFound as exc:
        st.error(f"**This run cannot be shown.** {exc}")


def _run_view(runs: RunStore, run_id: str) -> None:
    run = runs.load(run_id)
    st.subheader(plain(run.name))
    st.caption(f"`{run.id}` · {plain(run.config.summary())} · {run.config.parameter_count:,} parameters")
    if ownership.is_mine(run, session_owner()):
        rename(runs, run)
    if run.is_active:
        phase = _pace(runs, run)
        st.session_state.setdefault("live_phase", {})[run_id] = phase
        st.fragment(_live, run_every=POLL_SECONDS[phase])(runs, run_id)
    else:
        results(runs, run)


def _look(runs: RunStore, run: Run) -> tuple[int | None, dict]:
    """What the live view needs to know of an active run: its place in line while queued (None:
    not in line yet), else its progress. Read once per redraw."""
    if run.state == "queued":
        return runs_executor().queue_position(run.id), {}
    return None, runs.progress(run.id)


def _phase(run: Run, place: int | None, progress: dict) -> str:
    """Where the run is, for how often its live view redraws (``POLL_SECONDS``): "soon" when
    something is about to change (handed to a worker and not yet in line, training with no point
    drawn yet, or the last batch trained and the results being saved); "next" first in line;
    "waiting" behind others; else "training"."""
    if run.state == "queued":
        return "soon" if place is None else "next" if place == 1 else "waiting"
    no_point_yet = progress.get("epoch", 1) <= 1 and not progress.get("trail")  # each epoch starts a new trail
    if no_point_yet or where.position(progress) >= progress["epochs"]:
        return "soon"
    return "training"


def _pace(runs: RunStore, run: Run) -> str:
    """The run's phase as the whole page sees it; a damaged progress file redraws at the training
    pace (the live view says what is damaged)."""
    try:
        return _phase(run, *_look(runs, run))
    except DamagedRun:
        return "training"


def _live(runs: RunStore, run_id: str) -> None:
    try:
        _live_view(runs, run_id)
    except DamagedRun as exc:
        st.error(f"**This run cannot be shown.** {exc}")


def _live_view(runs: RunStore, run_id: str) -> None:
    try:
        run = runs.load(run_id)
    except RunNotFound:
        st.rerun()  # deleted meanwhile: the page says so
    if not run.is_active:
        st.rerun()  # finished: redraw the whole page with the results
    place, progress = _look(runs, run)
    repace = st.session_state.get("live_phase", {}).get(run_id) != _phase(run, place, progress)
    if run.state == "queued":
        _queued(run, place)
    else:
        _training(runs, run, progress)
    if repace:  # a new pace; only now, so that what changed (the first point, say) shows while the page reruns
        st.rerun()  # (a run that starts at the same pace does not rerun the page: that would delay its first
        # point by a whole page's run; the sidebar's "queued" label catches up at the next full rerun)


def _training(runs: RunStore, run: Run, progress: dict) -> None:
    """The progress bar, the live curves and the Stop button."""
    run_id = run.id
    history = runs.history(run_id)
    first = _first_sample(run_id, progress)
    text = progress_text(progress, runs.cancel_requested(run_id), first, history)
    st.progress(where.fraction_done(progress), text=text)
    figure = training_curves(history, progress, run.config.stop_loss, run.config.epochs)
    st.plotly_chart(figure, key="live_curves")
    st.caption(CURVES_NOTE)
    if not may_stop(run):
        st.caption(f":material/lock: You are watching someone else's run. {ownership.who_may_stop(run)}")
    elif st.button("Stop", icon=":material/stop:", key="train_stop", help="End training now; keep what it learnt."):
        _ask(lambda: runs_executor().cancel(run_id), "Stopping… the run keeps what it has learnt.")


def _queued(run: Run, place: int | None) -> None:
    """Where the run is in line, and a way out of it."""
    line = f"number {place} in line" if place else "starting"
    st.info(f"**Queued** ({line}): at most {runs_executor().capacity()} trainings run at once on this server.")
    if not may_stop(run):
        st.caption(f":material/lock: Someone else's run. {ownership.who_may_stop(run)}")
    elif st.button("Leave the queue", icon=":material/close:", key="train_unqueue"):
        _ask(lambda: runs_executor().cancel(run.id), "Leaving the queue…")


def _ask(action: Callable[[], None], done: str) -> None:
    """Run a button's action; a store that cannot be written is a message, not a traceback."""
    try:
        action()
    except OSError as exc:
        st.error(f"**That did not work:** the lab cannot write to its store ({exc.strerror or exc}).")
    else:
        st.toast(done)


def progress_text(
    progress: dict, stopping: bool = False, first: where.Sample | None = None, history: list | tuple = ()
) -> str:
    """``Epoch 2/5 · batch 900/1,875 · about 12 s left``."""
    if stopping:
        return "Stopping…"
    if not progress:
        return "Starting: loading TensorFlow and the data…"
    seconds = where.seconds_left(progress, first, history)
    left = "" if seconds is None else f" · about {_duration(seconds)} left"
    return f"Epoch {progress['epoch']}/{progress['epochs']} · batch {progress['batch']:,}/{progress['steps']:,}{left}"


def _first_sample(run_id: str, progress: dict) -> where.Sample | None:
    """The first moment of the run this session saw after a batch had trained (the pace starts there)."""
    seen = st.session_state.setdefault("live_first_sample", {})
    if run_id not in seen and progress and (now := where.sample(progress)) is not None:
        seen[run_id] = now
    return seen.get(run_id)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def results(runs: RunStore, run: Run) -> None:
    """Test metrics, why training ended, the curves and links to look closer."""
    ended_note(run)
    metrics = run.metrics
    history = runs.history(run.id)
    if metrics:
        score_cards(metrics, history)
        st.info(f"**Why training ended:** {metrics['stop_reason']}")
        if best := metrics.get("best_epoch"):
            st.caption(
                f"Early stopping kept the best weights: the test scores are from the restored best epoch {best}."
            )
    if history:
        figure = training_curves(history, None, run.config.stop_loss, run.config.epochs, metrics.get("best_epoch"))
        st.plotly_chart(figure)
        st.caption(CURVES_NOTE)
    if metrics:
        st.markdown("**Look closer at this run:**")
        row = st.container(horizontal=True)  # wraps on a narrow screen rather than cutting a label
        for page in RUN_PAGES:
            row.page_link(page.path, label=page.title, icon=page.icon, query_params={RUN_PARAM: run.id})
        downloads(runs, run)
        with st.expander("The code", icon=":material/code:"):
            code_view(run.config, key="run_code", run_id=run.id)


def score_cards(metrics: dict, history: list) -> None:
    """Six numbers, two to a row: a 1024-pixel screen shows each value and label whole."""
    per_epoch = metrics.get("seconds_per_epoch")
    trained = where.epochs_trained(history) if history else metrics["epochs_run"]
    cards = [
        ("Test accuracy", f"{metrics['test_accuracy']:.2%}", None),
        ("Test loss", f"{metrics['test_loss']:.3f}", None),
        ("Epochs run", where.epochs_text(trained), "A stop mid-epoch counts the part of the epoch trained."),
        ("Parameters", f"{metrics['parameters']:,}", None),
        ("Seconds / epoch", "–" if per_epoch is None else f"{per_epoch:.1f}", None),
        ("Training time", f"{metrics['train_seconds']:.1f} s", TRAINING_TIME_HELP),
    ]
    for row in range(0, len(cards), 2):
        for column, (label, value, note) in zip(st.columns(2), cards[row : row + 2], strict=True):
            column.metric(label, value, help=note)


def ended_note(run: Run) -> None:
    """What happened to a run that has no results to show, and what to do next."""
    if run.state == "failed":
        st.error(
            f"**Training failed.** {run.status.get('error', 'No reason was recorded.')}\n\n"
            "Change a setting or try again with **Train**; if it fails again, tell your instructor."
        )
    elif run.state == "stopped" and not run.metrics:
        reason = run.status.get("stop_reason") or "It was stopped before it finished an epoch."
        st.warning(
            f"**This run ended without results.** {reason}\n\n"
            "Nothing was trained, so there is nothing to analyse: press **Train** to start a new run, "
            "or pick a finished one in the sidebar."
        )


def rename(runs: RunStore, run: Run) -> None:
    """The owner may give their run a name of their own (plain text)."""
    with st.popover("Rename", icon=":material/edit:"):
        name = st.text_input("Name", run.name, max_chars=80, key=f"train_rename_{run.id}")
        if st.button("Save name", key="train_rename_save") and name != run.name:
            try:
                runs.rename(run.id, name)
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.rerun()


def downloads(runs: RunStore, run: Run) -> None:
    """The trained model, the history as CSV and the config as JSON (the model is read only when clicked)."""
    model = history = config = st.container(horizontal=True)  # wraps on a narrow screen
    path = runs.model_path(run.id)
    if path.exists():
        model.download_button(
            "Model (.keras)", path.read_bytes, f"fmnist-{run.id}.keras", icon=":material/download:", key="dl_model"
        )
    history.download_button(
        "History (.csv)", runs.history_csv(run.id), f"fmnist-{run.id}-history.csv", "text/csv", key="dl_history"
    )
    settings = json.dumps(run.config.to_dict(), indent=2)
    config.download_button(
        "Config (.json)", settings, f"fmnist-{run.id}-config.json", "application/json", key="dl_config"
    )
