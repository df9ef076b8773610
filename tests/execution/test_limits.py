"""The host's caps: on size, and on work estimated from steps and size at this server's measured speed."""

from __future__ import annotations

import pytest

from fmnist_lab import RunStore, TrainConfig
from fmnist_lab.environment import Environment
from fmnist_lab.execution.contract import SubmitRefused
from fmnist_lab.execution.factory import executor
from fmnist_lab.execution.limits import Limits, Speed, measured_speed
from tests.conftest import final_metrics

BATCH_1 = TrainConfig(batch_size=1, epochs=3)  # /Train?batch=1&hide=advanced&epochs=3&units=128


def test_the_estimate_by_hand() -> None:
    # 60,000 images / 32 = 1,875 steps an epoch; a step: 0.5 ms + 6e-11 s x 32 images x 101,770 parameters
    assert Speed().seconds(TrainConfig(epochs=3)) == pytest.approx(3 * 1875 * (0.0005 + 6e-11 * 32 * 101_770))
    # batch 1: 60,000 steps, 0.5 ms + 6e-11 x 101,770 each: about 91 s for 3 epochs, 23x batch 32
    assert Speed().seconds(BATCH_1) == pytest.approx(3 * 60_000 * (0.0005 + 6e-11 * 101_770))
    # a split holds 10 % out: 54,000 images, 1,688 steps
    split = TrainConfig(epochs=1, holdout="split")
    assert Speed(2.0).seconds(split) == pytest.approx(2 * 1688 * (0.0005 + 6e-11 * 32 * 101_770))


def test_the_batch_1_link_is_refused_for_its_work_and_the_note_names_the_batch() -> None:
    limits = Limits(seconds=60)
    assert limits.exceeded(TrainConfig(epochs=3)) is None
    problems = limits.problems(BATCH_1)
    assert list(problems) == ["batch_size"] and "at most 60 s" in problems["batch_size"]
    assert list(limits.problems(TrainConfig(epochs=100, hidden_units=(4096,)))) == ["epochs"]


def test_the_speed_is_the_median_ratio_of_measured_to_estimated_epochs() -> None:
    slow, fast = TrainConfig(epochs=1), TrainConfig(epochs=1, hidden_units=(1024,))
    per_epoch = {config: Speed().seconds(config) for config in (slow, fast)}
    measured = Speed.measured([(slow, 2 * per_epoch[slow]), (fast, 3 * per_epoch[fast]), (slow, 10 * per_epoch[slow])])
    assert measured.factor == pytest.approx(3.0)
    assert Speed.measured([]).factor == 1.0


def test_the_server_measures_its_speed_from_its_finished_runs() -> None:
    store = RunStore()
    run = store.create(TrainConfig(epochs=1))
    store.write_metrics(
        run.id, final_metrics(seconds_per_epoch=4 * Speed().seconds(TrainConfig(epochs=1)), epochs_run=1)
    )
    store.set_status(run.id, "finished")
    assert measured_speed(store).factor == pytest.approx(4.0)


def test_every_submit_path_obeys_the_work_cap() -> None:
    lab = executor(RunStore(), settings=Environment(max_run_seconds=60))
    with pytest.raises(SubmitRefused, match="at most 60 s"):
        lab.submit(BATCH_1)
    with pytest.raises(SubmitRefused, match="at most 60 s"):
        lab.submit_all([TrainConfig(epochs=1), BATCH_1])  # a click with one run over the cap queues none
    with pytest.raises(SubmitRefused, match="at most 60 s"):
        lab.run(BATCH_1)  # the CLI's path
    assert RunStore().list() == []


@pytest.mark.parametrize(
    ("limits", "config", "allowed"),
    [
        (Limits(epochs=3), TrainConfig(), TrainConfig(epochs=3)),  # the default itself is over the cap
        (Limits(epochs=10), TrainConfig(epochs=30), TrainConfig()),  # the default fits
        (Limits(parameters=120_000), TrainConfig(hidden_units=(1024,)), TrainConfig()),
        (Limits(parameters=50_000), TrainConfig(hidden_units=(1024,)), TrainConfig(hidden_units=(32,))),
        (Limits(seconds=60), BATCH_1, TrainConfig(epochs=3)),  # batch 1 back to 32, the epochs kept
        (Limits(), BATCH_1, BATCH_1),
    ],
)
def test_a_config_over_the_caps_is_fitted_to_what_the_server_allows(
    limits: Limits, config: TrainConfig, allowed: TrainConfig
) -> None:
    assert limits.fitted(config) == allowed and limits.exceeded(allowed) is None


def test_the_caps_read_in_a_learners_words() -> None:
    assert Limits().describe() == ""
    assert (
        Limits(120_000, 3, 90).describe() == "models of at most 120,000 parameters, at most 3 epochs per run, "
        "runs of at most 90 s"
    )
