"""The lab's server: ``dashboard.py`` (the router to ``app_pages/``), its warm workers started with the server.

``streamlit run app.py`` (what ``scripts/start.sh`` does) serves the same pages as
``streamlit run dashboard.py`` (their list is ``fmnist_lab.ui.navigation``); the difference is
``st.App``'s start-up hook, which starts the warm training workers at once, so that they are ready
before the first learner clicks *Train* rather than starting then. Workers leave with the server.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

from fmnist_lab.ui.common import runs_executor
from fmnist_lab.ui.navigation import ENTRYPOINT


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    executor = runs_executor()  # the server's one executor (its warm pool starts here), as every page uses it
    yield
    executor.close()  # runs still waiting for their turn are reported, not left to look queued


app = st.App(ENTRYPOINT, lifespan=lifespan)
