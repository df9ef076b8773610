"""Which runs of a click train as one group: units against a hand-made expectation."""

from __future__ import annotations

import subprocess
import sys

from fmnist_lab import TrainConfig
from fmnist_lab.training.grouping import MAX_GROUP, units

PAIR = [TrainConfig(hidden_units=(128,), seed=s) for s in (1, 2, 3)] + [
    TrainConfig(hidden_units=(1024,), seed=s) for s in (1, 2, 3)
]


def test_the_classic_pair_over_seeds_is_two_groups() -> None:
    assert units(PAIR) == [[0, 1, 2], [3, 4, 5]]


def test_interleaved_members_still_form_their_groups_in_order_of_their_first_run() -> None:
    mixed = [PAIR[3], PAIR[0], PAIR[4], PAIR[1]]
    assert units(mixed) == [[0, 2], [1, 3]]


def test_a_single_run_and_a_lone_setup_are_units_of_their_own() -> None:
    assert units([TrainConfig(seed=1)]) == [[0]]
    assert units([TrainConfig(seed=1), TrainConfig(seed=1, epochs=3)]) == [[0], [1]]


def test_repeated_seeds_and_unvectorisable_setups_are_not_grouped() -> None:
    assert units([TrainConfig(seed=1), TrainConfig(seed=1)]) == [[0], [1]]
    dropout = [TrainConfig(seed=s, dropout=0.2) for s in (1, 2, 3)]
    assert units(dropout) == [[0], [1], [2]]


def test_a_group_larger_than_the_cap_is_cut_into_groups_of_at_most_the_cap() -> None:
    many = [TrainConfig(seed=s) for s in range(MAX_GROUP + 3)]
    assert units(many) == [list(range(MAX_GROUP)), list(range(MAX_GROUP, MAX_GROUP + 3))]


def test_grouping_loads_no_tensorflow() -> None:
    loaded = "any(m.startswith(('tensorflow', 'keras')) for m in sys.modules)"
    code = f"import sys, fmnist_lab.training.grouping\nprint({loaded})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "False"
