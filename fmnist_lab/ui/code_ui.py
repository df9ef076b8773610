"""The code behind a run on the page: the script with its copy button, and .py and .ipynb downloads."""

from __future__ import annotations

import streamlit as st

from fmnist_lab.config import TrainConfig
from fmnist_lab.teaching import codegen


@st.cache_data(max_entries=64, show_spinner=False)
def _script(config: TrainConfig, run_id: str | None) -> str:
    return codegen.script(config, run_id)


@st.cache_data(max_entries=64, show_spinner=False)
def _notebook(config: TrainConfig, run_id: str | None) -> str:
    return codegen.notebook_text(config, run_id)


def code_view(config: TrainConfig, key: str, run_id: str | None = None) -> None:
    """``st.code`` (it has a copy button) and the two downloads; ``key`` prefixes the buttons' keys."""
    name = f"fmnist-{run_id}" if run_id else "fmnist-train"
    st.caption(
        "Plain Keras, as in the course: it loads Fashion-MNIST with `load_data()` and trains this model. "
        "Its numbers come close to the lab's, not identical: the lab shuffles its batches its own way."
    )
    script, notebook = st.columns(2)
    script.download_button(
        "Script (.py)", _script(config, run_id), f"{name}.py", "text/x-python", key=f"{key}_py", icon=":material/code:"
    )
    notebook.download_button(
        "Notebook (.ipynb)",
        _notebook(config, run_id),
        f"{name}.ipynb",
        "application/x-ipynb+json",
        key=f"{key}_ipynb",
        icon=":material/download:",
    )
    st.code(_script(config, run_id), language="python")
