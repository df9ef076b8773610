"""The one list of pages: the addresses instructors shared, the files, the sidebar's links and the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.source_util import page_icon_and_name
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore
from fmnist_lab.ui.navigation import ENTRYPOINT, HOME, INSIDE, PAGES, ROOT, RUN_PAGES, TRAIN, LabPage
from tests.pages.test_pages import finished_run, open_page, page_id

SHARED_ADDRESSES = [  # as Streamlit derived them from pages/N_Name.py before st.navigation: never change
    "/",
    "/Train",
    "/Confusion",
    "/Predictions",
    "/Compare",
    "/Gallery",
    "/Inside",
    "/Sweep",
    "/Bias_lab",
    "/Lessons",
]
NEW_ADDRESSES = ["/Monitor", "/Class"]  # this wave's pages


def test_the_addresses_are_the_ones_instructors_shared() -> None:
    assert [page.address for page in PAGES] == SHARED_ADDRESSES + NEW_ADDRESSES


def test_every_page_file_is_listed_once_and_no_pages_folder_is_left() -> None:
    files = [page.file for page in PAGES]
    assert sorted(files) == sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py"))
    assert len({page.title for page in PAGES}) == len(PAGES)
    # A pages/ folder beside the entry point would make Streamlit run a page's file without the router.
    assert not (ROOT / "pages").exists()
    assert (ROOT / ENTRYPOINT).is_file()


@pytest.mark.parametrize("page", PAGES[1:], ids=page_id)
def test_the_file_name_names_the_address(page: LabPage) -> None:
    # AppTest's switch_page before a first run (open_page) finds a page by the name in its file name.
    assert page_icon_and_name(page.path)[1] == page.url_path


def test_the_entry_point_serves_every_page_at_its_address(app_env: Path) -> None:
    app = open_page(HOME)
    assert not app.exception and app.title[0].value == "fmnist-lab: learn by training"
    pages = app._registered_pages  # what st.navigation registered: AppTest keeps it for switch_page
    served = {info["url_pathname"]: Path(str(info["script_path"])) for info in pages.values()}
    assert served == {page.url_path: page.path for page in PAGES}


def sidebar_links(app: AppTest) -> list[tuple[str, str, str]]:
    """(address, label, query) of every page link in the sidebar."""
    links = [element.proto for element in app.sidebar.get("page_link")]
    return [(f"/{link.page}", link.label, link.query_string) for link in links]


def test_the_sidebar_links_every_page_in_order_carrying_the_current_run(app_env: Path) -> None:
    run_id = finished_run(RunStore())
    app = open_page(INSIDE, run=run_id)
    assert not app.exception
    assert sidebar_links(app) == [(page.address, page.title, f"run={run_id}") for page in PAGES]
    app = open_page(HOME)  # no run yet in this session: plain links
    assert sidebar_links(app) == [(page.address, page.title, "") for page in PAGES]


def test_a_finished_run_links_to_the_run_pages(app_env: Path) -> None:
    run_id = finished_run(RunStore())
    app = open_page(TRAIN, run=run_id)
    links = [element.proto for element in app.main.get("page_link")]
    wanted = [(page.address, f"run={run_id}") for page in RUN_PAGES]
    assert [(f"/{link.page}", link.query_string) for link in links if link.query_string] == wanted


def test_the_readme_lists_the_same_pages() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## The pages", 1)[1].split("\n\n", 2)[1]
    listed = re.findall(r"^\| \*\*(.+?)\*\* \|", table, flags=re.MULTILINE)
    assert sorted(listed) == sorted(page.title for page in PAGES)
