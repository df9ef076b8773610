"""The lab's server: ``dashboard.py`` and ``pages/``, with its warm workers started as the server starts.

``streamlit run app.py`` (what ``scripts/start.sh`` does) serves the same pages as
``streamlit run dashboard.py``; the difference is ``st.App``'s start-up hook, which starts the
warm training workers at once, so that they are ready before the first learner clicks *Train*
rather than starting then. Workers leave with the server.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

from fmnist_lab.ui.common import runs_executor


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    executor = runs_executor()  # the server's one executor (its warm pool starts here), as every page uses it
    yield
    executor.close()  # runs still waiting for their turn are reported, not left to look queued


app = st.App("dashboard.py", lifespan=lifespan)
