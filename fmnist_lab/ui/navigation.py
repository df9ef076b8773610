"""The lab's pages, listed once: the router, the sidebar, the links, the tests and the screenshots read this list.

Each page's address (``url_path``) is fixed here, because instructors share links such as
``/Train?run=…``: they must not move when a file is renamed. A test checks that Streamlit would
infer the same address from the file name too (``1_Train.py`` → ``Train``).

The page files live in ``app_pages/``, not ``pages/``: Streamlit takes a ``pages/`` folder beside
the entry point for an old-style multipage app and, until a session has called ``st.navigation``
(AppTest: on every run), opens a linked page's file without the entry point, so without its sidebar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]  # the repository: the entry point and app_pages/
ENTRYPOINT = "dashboard.py"  # the router; ``app.py`` serves it with the warm workers' start-up hook


@dataclass(frozen=True)
class LabPage:
    """One page: its file, its link, its address and its browser tab."""

    file: str  # relative to ROOT
    title: str  # the link's label and the browser tab's title
    icon: str  # the link's Material icon
    url_path: str  # the address after the host: "" for Home (served at /), "Train" for /Train
    favicon: str  # the browser tab's emoji

    @property
    def path(self) -> Path:
        return ROOT / self.file

    @property
    def address(self) -> str:
        """``/`` or ``/Train``: what a learner types after the host."""
        return f"/{self.url_path}"

    def st_page(self) -> st.Page:
        return st.Page(
            self.path, title=self.title, icon=self.favicon, url_path=self.url_path, default=not self.url_path
        )


PAGES = (  # the sidebar's order
    HOME := LabPage("app_pages/0_Home.py", "Home", ":material/home:", "", "👕"),
    TRAIN := LabPage("app_pages/1_Train.py", "Train", ":material/model_training:", "Train", "🏋️"),
    CONFUSION := LabPage("app_pages/2_Confusion.py", "Confusion", ":material/grid_on:", "Confusion", "🧩"),
    PREDICTIONS := LabPage("app_pages/3_Predictions.py", "Predictions", ":material/bar_chart:", "Predictions", "🔮"),
    COMPARE := LabPage("app_pages/4_Compare.py", "Compare", ":material/compare_arrows:", "Compare", "⚖️"),
    GALLERY := LabPage("app_pages/5_Gallery.py", "Class gallery", ":material/groups:", "Gallery", "👥"),
    INSIDE := LabPage("app_pages/6_Inside.py", "Inside", ":material/neurology:", "Inside", "🧠"),
    SWEEP := LabPage("app_pages/7_Sweep.py", "Sweep", ":material/trending_up:", "Sweep", "📈"),
    BIAS_LAB := LabPage("app_pages/8_Bias_lab.py", "Bias lab", ":material/balance:", "Bias_lab", "⚖️"),
    LESSONS := LabPage("app_pages/9_Lessons.py", "Lessons", ":material/school:", "Lessons", "🎓"),
    MONITOR := LabPage("app_pages/11_Monitor.py", "Monitor", ":material/monitor_heart:", "Monitor", "📡"),
    CLASS := LabPage("app_pages/10_Class.py", "Class", ":material/co_present:", "Class", "🧑‍🏫"),
)
RUN_PAGES = (CONFUSION, PREDICTIONS, COMPARE)  # where a finished run's view links to


def serve() -> None:
    """The entry point's work: run the page the address names, under its own title and icon.

    The built-in menu is hidden: every page draws the lab's sidebar (``ui.sidebar``), whose links
    carry the current run (``?run=…``); Streamlit's menu links would drop it.
    """
    by_address = {page.url_path: page for page in PAGES}
    current = st.navigation([page.st_page() for page in PAGES], position="hidden")
    page = by_address[current.url_path]
    st.set_page_config(page_title=f"{page.title} · fmnist-lab", page_icon=page.favicon, layout="wide")
    current.run()
