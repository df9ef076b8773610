"""Streamlit glue: page set-up, the shared sidebar, cached loaders, widgets, the live run view.

The only part of the package that imports Streamlit. Pages call these helpers and
the core library; the core never calls back here.
"""

from fmnist_lab.ui.common import (
    current_run_id,
    dataset_or_stop,
    is_instructor,
    may_stop,
    plain,
    runs_executor,
    session_owner,
    set_current_run,
    sidebar,
    start_page,
    store,
)

__all__ = [
    "current_run_id",
    "dataset_or_stop",
    "is_instructor",
    "may_stop",
    "plain",
    "runs_executor",
    "set_current_run",
    "session_owner",
    "sidebar",
    "start_page",
    "store",
]
