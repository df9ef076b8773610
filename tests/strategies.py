"""Hypothesis strategies generated from the settings registry: a new setting is fuzzed with no edit here.

Values that break a rule between settings are mended as a link would mend them (``config.apply_rules``).
"""

from __future__ import annotations

from hypothesis import strategies as st

from fmnist_lab.config import SETTINGS, Setting, TrainConfig, apply_rules


def setting_values(setting: Setting) -> st.SearchStrategy:
    """Every value ``setting`` accepts (None included where it is optional)."""
    low, high = setting.low, setting.high
    if setting.kind == "bool":
        values: st.SearchStrategy = st.booleans()
    elif setting.kind == "class_fractions":
        fractions = st.floats(low, high, allow_nan=False, allow_infinity=False)
        classes = st.integers(0, len(setting.choices) - 1)
        pairs = st.dictionaries(classes, fractions, max_size=len(setting.choices))
        values = pairs.map(lambda chosen: tuple(sorted(chosen.items())))
    elif setting.kind == "choice":
        values = st.sampled_from(setting.choices)
    elif setting.kind in ("int", "layers"):
        values = st.integers(int(low or 0) + setting.above, int(high or 2**31))
        if setting.kind == "layers":
            values = st.lists(values, min_size=1, max_size=setting.widget["layers"][1]).map(tuple)
    else:
        values = st.floats(low, high, exclude_min=setting.above, allow_infinity=False, allow_nan=False)
    return st.none() | values if setting.optional else values


def configs() -> st.SearchStrategy[TrainConfig]:
    values = st.fixed_dictionaries({name: setting_values(setting) for name, setting in SETTINGS.items()})
    return values.map(lambda v: TrainConfig(**apply_rules(v)[0]))
