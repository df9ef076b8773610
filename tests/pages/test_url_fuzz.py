"""Every page's address, fuzzed: generated query strings over each page's own parameter names with hostile
values (digits that are not ASCII, 5,000-digit numbers, paths, markup, empty) never raise on a page.

The names are the ones the pages read: ``run``, every setting's link name (``teaching.share.PARAMS``),
``lock`` and ``hide``, the Lessons' ``lesson`` and ``done``, the Bias lab's ``exercise``, the Train
page's ``repeats`` and the Class page's ``projector``; and a few no page reads. Each page gets its own
bounded number of examples, so the whole file stays under about a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmnist_lab import RunStore
from fmnist_lab.teaching.share import HIDE, LOCK, PARAMS
from fmnist_lab.ui.bias_ui import EXERCISE_PARAM
from fmnist_lab.ui.class_ui import PROJECTOR_PARAM
from fmnist_lab.ui.common import RUN_PARAM
from fmnist_lab.ui.groups_ui import REPEATS_PARAM
from fmnist_lab.ui.lessons_ui import DONE_PARAM, LESSON_PARAM
from fmnist_lab.ui.navigation import PAGES, LabPage
from tests.pages.test_pages import finished_run, open_page, page_id

NAMES = [RUN_PARAM, *PARAMS, LOCK, HIDE, LESSON_PARAM, DONE_PARAM, EXERCISE_PARAM, REPEATS_PARAM, PROJECTOR_PARAM]
EXAMPLES = 8  # per page: about 60 s for all twelve pages on two busy cores (0.4–0.7 s an address)
HOSTILE = [
    "",
    "²",
    "٣",
    "①",
    "9" * 5000,
    "-" + "9" * 5000,
    "1e999",
    "nan",
    "-1",
    "0",
    "../",
    "../../etc/passwd",
    "%2e%2e%2f",
    "<b>x</b>",
    '<a href="https://evil.example">x</a>',
    "![x](https://evil.example/i.png)",
    "**bold**",
    "1,²,3",
    "Shirt:0",
    "0:0,1:0,2:0,3:0,4:0,5:0,6:0,7:0,8:0,9:0",
    "units,advanced",
    "\x00",
    " ",
    "1",
    "5",
]
RUN_ID = "__the store's run__"  # replaced by a real finished run's id, so run-reading pages go further
values = st.one_of(st.sampled_from([*HOSTILE, RUN_ID]), st.text(max_size=20))
queries = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=6), values, max_size=6)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_address_raises_on_a_page(app_env: Path, page: LabPage) -> None:
    run_id = finished_run(RunStore())

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(query=queries)
    def opens(query: dict[str, str]) -> None:
        query = {key: run_id if value == RUN_ID else value for key, value in query.items()}
        app = open_page(page, **query)
        assert not app.exception, (page.url_path, query, [e.message for e in app.exception])

    opens()
