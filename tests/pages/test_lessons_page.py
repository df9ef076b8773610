"""The Lessons page through AppTest: a step from the address, an answer checked against a stored run,
progress written back to the address, and the code on the Train page and beside a finished run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from fmnist_lab import RunStore
from fmnist_lab.analysis import explain, metrics
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.execution.ownership import new_key, owner_id
from fmnist_lab.store.groups import GroupStore
from fmnist_lab.store.progress_store import Progress, ProgressStore
from fmnist_lab.teaching import codegen, lessons, monitoring_lesson
from fmnist_lab.teaching.lessons import LESSONS as STEPS
from fmnist_lab.training import data
from fmnist_lab.ui.common import OWNER_KEY
from fmnist_lab.ui.navigation import ENTRYPOINT, LESSONS, TRAIN
from tests.pages.test_pages import ROOT, TIMEOUT, finished_run, open_page, texts

LESSONS_PAGE = LESSONS


def run_with_predictions(store: RunStore, **settings: object) -> str:
    """A finished run whose test predictions find every Shirt but one in four, and the rest all."""
    run_id = finished_run(store, **settings)
    labels = np.repeat(np.arange(10), 4)  # (40,) four test images per class
    guesses = labels.copy()
    guesses[labels == 6] = [6, 0, 0, 0]  # Shirt: 1 of 4 found
    probabilities = np.full((40, 10), 0.01, dtype=np.float32)
    probabilities[np.arange(40), guesses] = 0.91
    store.write_predictions(run_id, probabilities, labels)
    return run_id


def test_a_step_in_the_address_opens_it(app_env: Path) -> None:
    app = open_page(LESSONS_PAGE, lesson="9")
    assert not app.exception
    assert app.subheader[0].value == "9. Bias and its fixes"
    assert "No finished run yet" in texts(app)


def test_a_bad_step_in_the_address_opens_the_first(app_env: Path) -> None:
    app = open_page(LESSONS_PAGE, lesson="99", done="2,x,42")
    assert not app.exception and app.subheader[0].value == "1. The data set"
    assert app.query_params["done"] == "2"


def test_unicode_digits_and_huge_numbers_in_the_address_are_ignored(app_env: Path) -> None:
    """The review's crashes: ``isdigit()`` accepted ``²``, then ``int()`` failed; 4,301 digits also failed."""
    for query in ({"lesson": "²"}, {"done": "³"}, {"lesson": "9" * 4301}, {"lesson": "3", "done": "1,²," + "7" * 4301}):
        app = open_page(LESSONS_PAGE, **query)
        assert not app.exception, (query, app.exception)
        assert app.subheader[0].value.startswith("3. " if query.get("lesson") == "3" else "1. ")
    assert app.query_params["done"] == "1"  # the last query: ² and the huge number dropped


link_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["²", "³", "٣", "9" * 4301, "1,2,²", "0", "-1", "1e3", "10", ",,,", "1_0", "4 "]),
    st.lists(st.integers(-3, 15).map(str) | st.sampled_from(["²", "x", ""]), max_size=8).map(",".join),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["lesson", "done", "run"]) | st.text(max_size=8), link_values, max_size=4))
def test_no_link_breaks_the_lessons_page(app_env: Path, query: dict[str, str]) -> None:
    app = open_page(LESSONS_PAGE, **query)
    assert not app.exception, (query, app.exception)
    assert app.subheader and app.subheader[0].value[0].isdigit()


def test_a_wrong_then_a_right_answer_from_the_learners_run(app_env: Path) -> None:
    run_id = run_with_predictions(RunStore())
    app = open_page(LESSONS_PAGE, lesson="9", run=run_id)
    app.radio(key="lessons_answer_9").set_value("Trouser").run()
    app.button(key="lessons_check").click().run()
    assert not app.exception
    assert app.error and "Confusion page" in app.error[0].value and "Shirt" not in app.error[0].value
    assert "done" not in app.query_params
    app.radio(key="lessons_answer_9").set_value("Shirt").run()
    app.button(key="lessons_check").click().run()
    assert app.success and "Right." in app.success[0].value and "25% of the test Shirt images" in app.success[0].value
    assert app.query_params["done"] == "9" and app.query_params["lesson"] == "9"
    assert "✓ 9. Bias and its fixes" in app.radio(key="lessons_step").options


def answer(app: AppTest, step: int, choice: str) -> str:
    """Choose ``choice``, press Check; the verdict's text."""
    app.radio(key=f"lessons_answer_{step}").set_value(choice).run()
    app.button(key="lessons_check").click().run()
    assert not app.exception
    return (app.success or app.error)[0].value


def with_weights(store: RunStore, seed: int = 0, **settings: object) -> str:
    """A finished 16-unit run with random weights and the predictions they make on the page's test images."""
    run_id = finished_run(store, **settings)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.05, (784, 16)), rng.normal(0, 0.1, 16), rng.normal(0, 1, (16, 10)), np.zeros(10)]
    weights = [w.astype(np.float32) for w in weights]
    images, labels = data.load_dataset().x_test[:50], data.load_dataset().y_test[:50]
    logits = explain.logits_of(weights, "relu", explain.network_input(images, True))
    store.write_weights(run_id, weights)
    store.write_predictions(run_id, np.array([metrics.softmax(row) for row in logits], np.float32), labels)
    return run_id


def test_the_normalisation_pair_is_read_from_both_runs(app_env: Path) -> None:
    store = RunStore()
    raw = with_weights(store, normalize=False)
    scaled = with_weights(store, seed=1)
    app = open_page(LESSONS_PAGE, lesson="2", run=raw)
    labels = [link.label for link in app.get("page_link")]
    assert "Set it up" in labels and "Set up the other one" in labels
    assert f"Your pair: this run and run {scaled}" in texts(app)
    hint = answer(app, 2, lessons.SCALING[3])
    assert "Not quite." in hint and "0.900" not in hint
    assert "0.900 without ÷255 and 0.900 with it (1.0×)" in answer(app, 2, lessons.SCALING[2])


def test_why_did_it_say_that_names_a_mistake_of_the_run(app_env: Path) -> None:
    store = RunStore()
    run_id = with_weights(store)
    probabilities, labels = store.predictions(run_id)
    index = int(np.flatnonzero(probabilities.argmax(axis=1) != labels)[0])
    image = data.load_dataset().x_test[index]
    parts = explain.decompose(store.weights(run_id), "relu", explain.network_input(image, True))
    best = CLASS_NAMES[int(np.argmax(parts.contributions.sum(axis=0)))]
    app = open_page(LESSONS_PAGE, lesson="11", run=run_id)
    assert f"Test image #{index} is a {CLASS_NAMES[labels[index]]}" in texts(app)
    wrong = answer(app, 11, next(name for name in CLASS_NAMES if name != best))
    assert "Not quite." in wrong and f"#{index}" in wrong
    assert f"{best}'s template matched best" in answer(app, 11, best)


def test_is_it_luck_reads_the_group(app_env: Path) -> None:
    store = RunStore()
    ids = [run_with_predictions(store, seed=seed) for seed in range(2)]
    GroupStore(store).create(ids)
    app = open_page(LESSONS_PAGE, lesson="10", run=ids[0])
    verdict = answer(app, 10, lessons.SPREADS[0])  # both seeds scored 78 %: 0 points apart
    assert "Right." in verdict and "0.00 points apart" in verdict


def test_the_monitoring_step_checks_the_deployed_run(app_env: Path) -> None:
    store = RunStore()
    run_id = with_weights(store)
    dataset = data.load_dataset()
    days = monitoring_lesson.lesson_scores(store, run_id, dataset.x_test, dataset.y_test)
    app = open_page(LESSONS_PAGE, lesson=str(len(STEPS)), run=run_id)
    shown = answer(app, len(STEPS), monitoring_lesson.NO_ALERT)
    assert monitoring_lesson.check(days, monitoring_lesson.NO_ALERT).why in shown


def open_as(owner: str, **query: str) -> AppTest:
    """The Lessons page in a new browser session whose owner cookie gives ``owner`` (a reload, a new tab)."""
    app = AppTest.from_file(str(ROOT / ENTRYPOINT), default_timeout=TIMEOUT)
    app.switch_page(LESSONS_PAGE.file)
    app.session_state[OWNER_KEY] = owner
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def progress_text(app: AppTest) -> str:
    return app.get("progress")[0].proto.text


def test_progress_is_kept_on_the_server_for_the_owner(app_env: Path) -> None:
    """Issue 29's walk without a browser: a link's progress, then a session with no address, same owner."""
    ana, ben = owner_id(new_key()), owner_id(new_key())
    linked = open_as(ana, lesson="4", done="1,2,3")
    assert not linked.exception and progress_text(linked) == f"3 of {len(STEPS)} steps answered right"
    assert ProgressStore(RunStore().root).get(ana) == Progress(4, frozenset({1, 2, 3}))
    again = open_as(ana)  # a reload: the address has lost its parameters
    assert again.subheader[0].value == f"4. {STEPS[3].title}"
    assert progress_text(again) == f"3 of {len(STEPS)} steps answered right"
    assert again.query_params["done"] == "1,2,3"
    other = open_as(ben)
    assert other.subheader[0].value == f"1. {STEPS[0].title}" and progress_text(other).startswith("0 of ")


def test_a_link_adds_its_ticks_to_the_stored_ones(app_env: Path) -> None:
    ana = owner_id(new_key())
    ProgressStore(RunStore().root).save(ana, Progress(2, frozenset({1, 2})))
    app = open_as(ana, lesson="6", done="5")
    assert app.subheader[0].value == f"6. {STEPS[5].title}" and app.query_params["done"] == "1,2,5"
    assert ProgressStore(RunStore().root).get(ana) == Progress(6, frozenset({1, 2, 5}))


def test_the_train_page_shows_the_code_of_its_settings(app_env: Path) -> None:
    app = open_page(TRAIN, units="64", epochs="3")
    app.toggle(key="train_show_code").set_value(True).run()
    assert not app.exception
    assert 'keras.layers.Dense(64, activation="relu"),' in app.code[0].value and "epochs=3" in app.code[0].value
    assert [b.label for b in app.get("download_button")] == ["Script (.py)", "Notebook (.ipynb)"]


def test_a_finished_run_shows_its_code(app_env: Path) -> None:
    store = RunStore()
    run_id = finished_run(store)
    app = open_page(TRAIN, run=run_id)
    assert not app.exception
    assert codegen.script(store.load(run_id).config, run_id).rstrip() in [c.value for c in app.code]
