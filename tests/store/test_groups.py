"""Groups of runs over seeds: create, load, list, members' states, damaged files, hostile and unknown ids."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fmnist_lab.config import TrainConfig
from fmnist_lab.store.groups import (
    DAMAGED,
    FOLDER,
    MISSING,
    BadGroup,
    DamagedGroup,
    GroupNotFound,
    GroupStore,
    InvalidGroupId,
    check_group_id,
    new_group_id,
)
from fmnist_lab.store.runs import RUN_ID_PATTERN, InvalidRunId, RunStore, StoreUnwritable
from tests.conftest import finished_run

SETUP = TrainConfig(hidden_units=(64,), epochs=2)


@pytest.fixture
def groups(tmp_path: Path) -> GroupStore:
    return GroupStore(RunStore(tmp_path / "runs"))


def seeded(seed: int) -> TrainConfig:
    return TrainConfig(hidden_units=(64,), epochs=2, seed=seed)


def test_create_load_and_list(groups: GroupStore) -> None:
    runs = [finished_run(groups.runs, seeded(seed), 0.8 + seed / 100) for seed in (3, 1, 2)]
    group = groups.create([run.id for run in runs], name=" wide\nnet ", owner="session-a")
    assert check_group_id(group.id) and not RUN_ID_PATTERN.fullmatch(group.id)
    assert group.seeds == (3, 1, 2) and group.run_ids == tuple(run.id for run in runs)
    assert group.setup == {k: v for k, v in SETUP.to_dict().items() if k != "seed"}
    assert group.config(7) == TrainConfig(hidden_units=(64,), epochs=2, seed=7)
    assert (group.name, group.owner) == ("wide net", "session-a") and group.label() == "wide net · 3 seeds"
    assert groups.load(group.id) == group
    on_disk = json.loads((groups.runs.root / FOLDER / f"{group.id}.json").read_text())
    assert on_disk["run_ids"] == [run.id for run in runs] and "seed" not in on_disk["setup"]
    assert [g.id for g in groups.list()] == [group.id]
    assert [run.id for run in groups.runs.list()] == [runs[2].id, runs[1].id, runs[0].id]  # the folder is no run


def test_counts_with_a_failed_a_stopped_an_active_and_a_deleted_member(groups: GroupStore) -> None:
    store = groups.runs
    ok = [finished_run(store, seeded(seed), 0.85) for seed in (0, 1)]
    failed, stopped, queued, gone = (store.create(seeded(seed)) for seed in (2, 3, 4, 5))
    store.set_status(failed.id, "failed", error="out of memory")
    store.set_status(stopped.id, "stopped")
    group = groups.create([r.id for r in (*ok, failed, stopped, queued, gone)])
    store.set_status(gone.id, "finished")
    store.delete(gone.id)
    members = groups.members(group)
    assert [m.state for m in members] == ["finished", "finished", "failed", "stopped", "queued", MISSING]
    assert members[5].run is None and "was not found" in (members[5].problem or "")
    assert groups.counts(group) == {
        "members": 6,
        "finished": 2,
        "failed": 1,
        "stopped": 1,
        "active": 1,
        "unreadable": 1,
    }


def test_a_damaged_member_is_one_member_that_says_so(groups: GroupStore) -> None:
    runs = [finished_run(groups.runs, seeded(seed), 0.85) for seed in (0, 1)]
    group = groups.create([run.id for run in runs])
    (groups.runs.path(runs[1].id) / "status.json").write_text("{not json")
    first, second = groups.members(group)
    assert first.state == "finished" and second.state == DAMAGED and "status.json" in (second.problem or "")


RUN = "RUN"  # stands for the real member's id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{truncated", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"id": "g-20260101-000000-000000"}', "its id does not match"),
        ({"seeds": [1, 2], "run_ids": [RUN]}, "lists of equal length"),
        ({"seeds": [1], "run_ids": ["../../etc"]}, "run_ids must be run ids"),
        ({"seeds": [-1]}, "each seed must be a whole number"),
        ({"seeds": [True]}, "each seed must be a whole number"),
        ({"seeds": [], "run_ids": []}, "a group has 1 to 10 runs"),
        ({"seeds": [1, 1], "run_ids": [RUN, "20260101-000000-000000"]}, "must not repeat"),
        ({"setup": {"epochs": 0}}, "the settings are not valid"),
        ({"setup": {"seed": 1}}, "without the seed"),
        ({"setup": "128 units"}, "must be a JSON object of settings"),
        ({"name": 5}, "name must be text"),
    ],
)
def test_a_damaged_group_file_is_one_damaged_group(
    groups: GroupStore, content: str | dict[str, object], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    run = finished_run(groups.runs, seeded(0), 0.85)
    good, bad = groups.create([run.id]), new_group_id()
    if isinstance(content, dict):  # a valid file with these fields changed
        valid = {"id": bad, "created": "", "setup": {"epochs": 2}, "seeds": [0], "run_ids": [run.id]}
        content = json.dumps(valid | content).replace(f'"{RUN}"', f'"{run.id}"')
    (groups.root / f"{bad}.json").write_text(content)
    with pytest.raises(DamagedGroup, match=message) as caught:
        groups.load(bad)
    assert bad in str(caught.value) and "Other groups are not affected" in str(caught.value)
    with caplog.at_level(logging.WARNING):
        assert [g.id for g in groups.list()] == [good.id]
    assert bad in caplog.text


def test_an_unknown_group(groups: GroupStore) -> None:
    with pytest.raises(GroupNotFound, match="was not found") as caught:
        groups.load(new_group_id())
    assert not isinstance(caught.value, DamagedGroup)
    assert groups.list() == []


@pytest.mark.parametrize(
    "group_id",
    [
        "../../etc/passwd",
        "g-20261121-093015-a3f09c/../x",
        "20261121-093015-a3f09c",
        "",
        None,
        5,
        "g-20261121-093015-A3F09C",
    ],
)
def test_hostile_ids_are_rejected_before_any_path_is_made(groups: GroupStore, group_id: object) -> None:
    with pytest.raises(InvalidGroupId, match="is not a group id"):
        groups.load(group_id)  # type: ignore[arg-type]
    assert not groups.root.exists()


def test_runs_that_cannot_form_a_group(groups: GroupStore) -> None:
    store = groups.runs
    a, b = finished_run(store, seeded(0), 0.8), finished_run(store, seeded(1), 0.8)
    other = finished_run(store, TrainConfig(hidden_units=(128,), epochs=2, seed=2), 0.8)
    same_seed = finished_run(store, seeded(0), 0.8)
    with pytest.raises(BadGroup, match="share every setting but the seed"):
        groups.create([a.id, other.id])
    with pytest.raises(BadGroup, match="its own seed"):
        groups.create([a.id, same_seed.id])
    with pytest.raises(BadGroup, match="its own seed"):
        groups.create([a.id, a.id])
    with pytest.raises(BadGroup, match="1 to 10 runs"):
        groups.create([])
    with pytest.raises(InvalidRunId, match="not a run id"):
        groups.create([a.id, "../b"])
    assert groups.list() == [] and b.state == "finished"


def test_an_unwritable_store_is_a_clear_error(groups: GroupStore) -> None:
    run = finished_run(groups.runs, seeded(0), 0.85)
    groups.root.parent.mkdir(parents=True, exist_ok=True)
    groups.root.write_text("a file where the folder should be")
    with pytest.raises(StoreUnwritable, match="Cannot save a new group in"):
        groups.create([run.id])
