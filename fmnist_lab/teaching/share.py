"""Shareable setups: a TrainConfig in the page address, as TensorFlow Playground does.

``?units=1024&epochs=30&stop=0.25&norm=0`` pre-fills the Train page, and ``lock=`` / ``hide=`` name the
controls an instructor fixes for a guided exercise. Every setting's parameter comes from its
``Setting`` (``parameter_table()`` lists them). Parsing never raises: a value that is not a valid
setting is dropped, its default kept, with a note a learner can read; so is a setting that breaks a rule
between settings (``config.RULES``), such as early stopping with nothing held out. Values only ever become numbers
or one of a fixed set of words, so nothing from the address reaches a file path or a shell.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fmnist_lab.config import SETTINGS, ConfigError, TrainConfig, apply_rules

PARAMS = {setting.param: name for name, setting in SETTINGS.items()}  # URL parameter → TrainConfig field
PARAM_OF = {field: param for param, field in PARAMS.items()}
GROUPS = tuple(dict.fromkeys(s.group for s in SETTINGS.values() if s.group))  # e.g. "advanced"
CONTROLS = (*(s.param for s in SETTINGS.values() if not s.group), *GROUPS)  # what lock= and hide= can name
LOCK, HIDE = "lock", "hide"
KEYS = (*PARAMS, LOCK, HIDE)  # every parameter a setup uses; others (such as run) are not ours
MAX_LENGTH = 40  # no single-value setting needs more characters, and notes never echo more
MAX_LIST_LENGTH = 400  # lock=/hide= and class_fractions settings: up to ten ``Ankle-boot:0.125`` pairs
SAFE = frozenset(string.ascii_letters + string.digits + ".,+-:= ")  # every character a setting's value uses
ECHO = SAFE - {":"}  # what a note repeats: free of Markdown, and of ``javascript:`` style schemes


@dataclass(frozen=True)
class SharedSetup:
    """What a link asks for: the settings, the controls to lock and hide, and what was not used."""

    config: TrainConfig
    locked: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()


def parse_setup(params: Mapping[str, Any]) -> SharedSetup:
    """The setup in ``params`` (value or list of values per name; the first counts). Never raises."""
    notes: list[str] = []
    values: dict[str, Any] = {}
    for param, field in PARAMS.items():
        raw = _first(params.get(param))
        if raw is not None:
            try:
                values[field] = SETTINGS[field].parse(_checked(raw, max_length(field)))
            except ConfigError as exc:
                notes.append(f"`{param}={shown(raw)}`: {exc}")
    config = combined(values, notes)
    locked, hidden = _controls(LOCK, params.get(LOCK), notes), _controls(HIDE, params.get(HIDE), notes)
    return SharedSetup(config, locked, hidden, tuple(notes))


def combined(values: Mapping[str, Any], notes: list[str]) -> TrainConfig:
    """The config of values that each passed their own check; a field that breaks a rule keeps its default."""
    settled, broken = apply_rules(values)
    notes += [f"`{PARAM_OF[rule.reset]}`: {rule.message}" for rule in broken]
    return TrainConfig(**settled)


def setup_params(
    config: TrainConfig, locked: frozenset[str] = frozenset(), hidden: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The shortest parameters that give back ``config``, ``locked`` and ``hidden``: defaults are left out."""
    params = {setting.param: setting.format(value) for _, setting, value in config.differences()}
    for key, names in ((LOCK, locked), (HIDE, hidden)):
        if chosen := [name for name in CONTROLS if name in names]:
            params[key] = ",".join(chosen)
    return params


def format_value(field: str, value: Any) -> str:
    """A setting as the address spells it: ``128,64``, ``1``/``0``, ``0.25``, ``off``."""
    return SETTINGS[field].format(value)


def parameter_table() -> list[tuple[str, str, str]]:
    """(parameter, field, what it takes) for every setting: the links' reference."""
    rows = []
    for name, s in SETTINGS.items():
        if s.kind == "class_fractions":
            accepted = f"class:fraction pairs, comma-separated (e.g. Shirt:0.1), each fraction {s.low:g} to {s.high:g}"
        elif s.kind == "choice":
            accepted = ", ".join(s.choices)
        elif s.kind == "bool":
            accepted = "1 or 0"
        else:
            accepted = f"{s.low:g}" + (" (excluded)" if s.above else "") + ("" if s.high is None else f" to {s.high:g}")
        accepted += f"; off: {s.optional}" if s.optional else ""
        if s.applies_when is not None:
            by, wanted = s.applies_when
            accepted += f"; only with {PARAM_OF[by]}={SETTINGS[by].format(wanted)}"
        rows.append((s.param, name, accepted))
    return rows


def shown(raw: str) -> str:
    """``raw`` safe to echo in a note: at most MAX_LENGTH characters, anything unusual as ``?``."""
    clipped = "".join(char if char in ECHO else "?" for char in raw[:MAX_LENGTH])
    return clipped + ("…" if len(raw) > MAX_LENGTH else "")


def _first(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return None if value is None else str(value)


def max_length(field: str) -> int:
    """The longest value the address may give ``field``."""
    return MAX_LIST_LENGTH if SETTINGS[field].kind == "class_fractions" else MAX_LENGTH


def _checked(raw: str, limit: int = MAX_LENGTH) -> str:
    if len(raw) > limit:
        raise ConfigError(f"too long for a setting (at most {limit} characters).")
    if not set(raw) <= SAFE:
        raise ConfigError("has characters no setting uses (letters, digits and . , + - : = only).")
    return raw.strip()


def _controls(key: str, value: Any, notes: list[str]) -> frozenset[str]:
    """Control names for ``lock=``/``hide=``; unknown names are noted and ignored."""
    raw = _first(value)
    if raw is None:
        return frozenset()
    try:
        names = {name.strip().lower() for name in _checked(raw, MAX_LIST_LENGTH).split(",") if name.strip()}
    except ConfigError as exc:
        notes.append(f"`{key}={shown(raw)}`: {exc}")
        return frozenset()
    for name in sorted(names - set(CONTROLS)):
        notes.append(f"`{key}={name}`: there is no control called {name!r}; use {', '.join(CONTROLS)}.")
    return frozenset(names & set(CONTROLS))
