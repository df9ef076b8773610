"""Widgets of the Predictions page: choosing a test image, and the softmax playground."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from .. import metrics
from ..data import CLASS_NAMES

MODES = {
    "all": "by index",
    "class": "by class",
    "random": "at random",
    "misclassified": "misclassified",
    "most_confident": "most confident",
    "least_confident": "least confident",
}
DEFAULT_LOGITS = "1, 3, 4, 2"  # the course notes' example


def choose_test_image(labels: np.ndarray, probabilities: np.ndarray) -> int | None:
    """Mode, optional class and position; returns a test-image index (None if none match)."""
    mode = st.radio("Browse", list(MODES), format_func=MODES.__getitem__, horizontal=True, key="pred_mode")
    class_index = None
    if mode == "class":
        class_index = st.selectbox("Class", range(10), format_func=CLASS_NAMES.__getitem__, key="pred_class")
    seed = st.session_state.setdefault("pred_seed", 0)
    if mode == "random" and st.button("Another random image", icon=":material/casino:", key="pred_shuffle"):
        st.session_state["pred_seed"] = seed = seed + 1
    chosen = metrics.selection(labels, probabilities, mode, class_index=class_index, seed=seed)
    if len(chosen) == 0:
        st.info("No test image matches: this run gets every one of them right.")
        return None
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
    text = st.text_input("Logits, comma-separated", DEFAULT_LOGITS, key="pred_logits")
    temperature = st.slider("Temperature", 0.1, 5.0, 1.0, 0.1, key="pred_temperature")
    try:
        logits = [float(part) for part in text.split(",") if part.strip()]
        if not 2 <= len(logits) <= 20 or not np.all(np.isfinite(logits)):
            raise ValueError
    except ValueError:
        st.error("Enter between 2 and 20 numbers separated by commas, such as `1, 3, 4, 2`.")
        return
    probabilities = metrics.softmax(np.array(logits), temperature)
    table = pd.DataFrame({"logit": logits, "probability": probabilities}, index=[f"z{i}" for i in range(len(logits))])
    st.dataframe(table.style.format({"logit": "{:g}", "probability": "{:.4f}"}))
    cols = st.columns(2)
    cols[0].metric("Sum of probabilities", f"{probabilities.sum():.4f}")
    cols[1].metric("Argmax", f"z{int(np.argmax(probabilities))}")
    st.caption("Low temperature sharpens the distribution towards the argmax; high temperature flattens it.")
