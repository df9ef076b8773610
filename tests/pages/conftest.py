"""Page-test fixtures: AppTest without two costs a real server never pays on each script run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def components_scanned_once() -> Iterator[None]:
    """Scan the installed packages for Streamlit components once per test process, as a server does once
    at its start. Each new ``AppTest`` scans every package's metadata again (Streamlit 1.67,
    ``AppTest._run``): 0.17 s of CPU each time, most of a small page test's. The packages do not change
    during the session, so every test app registers the same components from the one scan."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda max_workers=None: list(found))
        yield


@pytest.fixture(scope="session", autouse=True)
def no_keras_cleanup_after_each_run() -> Iterator[None]:
    """After every script run Streamlit calls ``keras.backend.clear_session()`` (a full ``gc.collect()``)
    if Keras is imported in the process (``script_runner._clean_problem_modules``). The lab's server never
    imports Keras, so there it does nothing (``test_no_page_imports_tensorflow``, and the Inside and
    Predictions tests that score with NumPy). A test process has imported it for other tests, and paid
    that collection after each of its page tests' script runs: two thirds of their CPU. Here, as in the
    server, nothing is cleaned."""
    from streamlit.runtime.scriptrunner import script_runner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(script_runner, "_clean_problem_modules", lambda: None)
        yield
