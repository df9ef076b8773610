"""Widgets of the Predictions page: test images, the softmax playground and your own picture."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from fmnist_lab.analysis import images, metrics
from fmnist_lab.charts.predictions import softmax_bars
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.runs import Run, RunNotFound, RunStore
from fmnist_lab.training.data import Dataset
from fmnist_lab.ui import analysis, edit_ui, explain_ui
from fmnist_lab.ui.common import set_current_run
from fmnist_lab.ui.navigation import TRAIN

MODES = {
    "all": "by index",
    "class": "by class",
    "random": "at random",
    "misclassified": "misclassified",
    "most_confident": "most confident",
    "least_confident": "least confident",
}
DEFAULT_LOGITS = "1, 3, 4, 2"  # the course notes' example


def choose_test_image(labels: np.ndarray, probabilities: np.ndarray, finished: np.ndarray | None = None) -> int | None:
    """Mode, optional class and position; returns a test-image index (None if none match).

    "misclassified" lists the images the finished run (``finished``, default ``probabilities``) gets
    wrong, so the image at a position stays the same as the epoch slider moves."""
    mode = st.radio("Browse", list(MODES), format_func=MODES.__getitem__, horizontal=True, key="pred_mode")
    class_index = None
    if mode == "class":
        class_index = st.selectbox("Class", range(10), format_func=CLASS_NAMES.__getitem__, key="pred_class")
    seed = st.session_state.setdefault("pred_seed", 0)
    if mode == "random" and st.button("Another random image", icon=":material/casino:", key="pred_shuffle"):
        st.session_state["pred_seed"] = seed = seed + 1
    basis = finished if mode == "misclassified" and finished is not None else probabilities
    chosen = metrics.selection(labels, basis, mode, class_index=class_index, seed=seed)
    if len(chosen) == 0:
        st.info("No test image matches: this run gets every one of them right.")
        return None
    if basis is finished:
        st.caption("The images the finished run gets wrong: the same image at every epoch of the slider.")
    label = "Test image index" if mode == "all" else f"Image (1 = first of {len(chosen):,})"
    low, high = (0, len(chosen) - 1) if mode == "all" else (1, len(chosen))
    position = st.number_input(label, low, high, low, key=f"pred_pos_{mode}_{class_index}")
    return int(chosen[int(position) - low])


def softmax_playground() -> None:
    """Editable logits → probabilities, their sum and the argmax, with a temperature."""
    st.markdown(
        "The last layer turns ten scores (*logits*) into probabilities: "
        "$p_i = e^{z_i/T} / \\sum_j e^{z_j/T}$. Edit the scores and the temperature $T$."
    )
    text = st.text_input("Logits", DEFAULT_LOGITS, key="pred_logits", help="`1, 3, 4, 2`, `[1, 3, 4, 2]` or `1 3 4 2`")
    temperature = st.slider("Temperature", 0.1, 5.0, 1.0, 0.1, key="pred_temperature")
    try:
        logits = metrics.parse_numbers(text)
    except ValueError:
        st.error("Enter between 2 and 20 numbers, such as `1, 3, 4, 2` (brackets and spaces are fine too).")
        return
    probabilities = metrics.softmax(np.array(logits), temperature)
    table = pd.DataFrame({"logit": logits, "probability": probabilities}, index=[f"z{i}" for i in range(len(logits))])
    st.dataframe(table.style.format({"logit": "{:g}", "probability": "{:.4f}"}))
    cols = st.columns(2)
    cols[0].metric("Sum of probabilities", f"{probabilities.sum():.4f}")
    cols[1].metric("Argmax", f"z{int(np.argmax(probabilities))}")
    st.caption("Low temperature sharpens the distribution towards the argmax; high temperature flattens it.")


def test_images(runs: RunStore, run: Run, dataset: Dataset) -> None:
    """Pick a test image; its picture, true and predicted class, and the softmax bars."""
    epoch = analysis.epoch_ui(runs, run, "pred")
    probabilities, labels = analysis.run_predictions(runs, run.id, epoch)
    finished = None if epoch is None else analysis.run_predictions(runs, run.id)[0]
    index = choose_test_image(labels, probabilities, finished)
    if index is None:
        return
    guess = int(probabilities[index].argmax())
    picture, bars = st.columns([1, 3])
    picture.image(analysis.enlarge(dataset.x_test[index], 6), caption=f"test image #{index}")
    picture.caption(f"Outputs {analysis.epoch_note(epoch)}: watch the bars sharpen as training goes on.")
    picture.markdown(f"True: **{CLASS_NAMES[labels[index]]}**  \nPredicted: **{CLASS_NAMES[guess]}**")
    bars.plotly_chart(softmax_bars(probabilities[index].tolist(), int(labels[index])), key="pred_bars")
    output = np.array2string(probabilities[index], precision=3, suppress_small=True)
    st.code(f"model.predict(test_images)[{index}]\n{output}", language="python")
    why_this_answer(runs, run, dataset, index, int(labels[index]), epoch)


def why_this_answer(runs: RunStore, run: Run, dataset: Dataset, index: int, true: int, epoch: int | None) -> None:
    """The exact reasons for one test image's answer (the finished run's weights), relu's zeros, and the editor."""
    st.subheader("Why this answer?")
    if epoch is not None:
        st.caption("Explained with the finished run's weights: the replayed epochs keep only the first layer.")
    if not explain_ui.why_section(runs, run, dataset.x_test[index], true, "why"):
        return
    if run.config.activation == "relu":
        with st.expander("relu's zeros"):
            explain_ui.zeros_for_image(runs, run, dataset.x_test[index], "why")
            st.markdown(f"**Over the test set**, {analysis.epoch_note(epoch)}:")
            explain_ui.zeros_section(runs, run, dataset.x_test, epoch)
    st.subheader("Edit the image and watch the answer")
    edit_ui.edit_image(runs, run, dataset.x_test[index], f"edit_{run.id}_{index}")


def own_picture(runs: RunStore, run: Run | None, current: str | None) -> None:
    """Upload a picture and see what a trained run makes of it; without a run, offer to pick one."""
    if run is None:
        _pick_run(runs, current)
        return
    st.caption(
        "The model must always pick one of the ten classes: a picture that is not clothing still gets "
        "a confident-looking answer."
    )
    upload = st.file_uploader(
        "One clothing item, PNG or JPEG, up to 2 MB", type=["png", "jpg", "jpeg"], key="pred_upload"
    )
    if upload is None:
        return
    data = upload.getvalue()
    prepared = prepared_upload(hashlib.sha256(data).hexdigest(), data)
    if isinstance(prepared, str):
        st.error(f"**That file cannot be used.** {prepared}")
        return
    picture, bars = st.columns([1, 3])
    picture.image(analysis.enlarge(prepared.image, 6), caption="what the model sees (28×28)")
    if prepared.inverted:
        picture.caption("Inverted: the background was light; Fashion-MNIST garments are light on black.")
    try:
        bars.plotly_chart(softmax_bars(analysis.predict_one(runs, run, prepared.image).tolist()), key="own_bars")
    except RunNotFound as exc:
        bars.warning(f"{exc} Train a new run to try your own picture.")
        return
    st.subheader("Why this answer?")
    explain_ui.why_section(runs, run, prepared.image, None, "own_why")


@st.cache_data(max_entries=32, show_spinner="Reading your picture…")
def prepared_upload(digest: str, _data: bytes) -> images.Prepared | str:
    """The upload ready for the model, or why it cannot be used: decoded once per content (``digest``, its SHA-256)."""
    try:
        return images.prepare_upload_budgeted(_data)
    except images.ImageError as exc:
        return str(exc)  # kept too, so a refused file is not decoded again on every rerun


def _pick_run(runs: RunStore, current: str | None) -> None:
    """Your own picture needs a trained run: a picker of finished runs, or the way to train one."""
    st.info("**Your own picture needs a trained run** to score it. Pick one here, or train one on the Train page.")
    finished = analysis.analysable_runs(runs)
    if not finished:
        st.page_link(TRAIN.path, label="Go to Train", icon=":material/model_training:")
        return
    labels = {run.id: run.label() for run in finished}
    chosen = st.selectbox("Run", list(labels), None, format_func=labels.__getitem__, key="pred_own_run")
    if chosen is not None and chosen != current:
        set_current_run(chosen)
        st.rerun()  # every tab and the sidebar now show the chosen run
