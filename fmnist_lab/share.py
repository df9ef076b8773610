"""Shareable setups: a TrainConfig in the page address, as TensorFlow Playground does.

``?units=1024&epochs=30&stop=0.25&norm=0`` pre-fills the Train page, and ``lock=`` / ``hide=`` name the
controls an instructor fixes for a guided exercise. Parsing never raises: a value that is not a valid
setting is dropped, its default kept, with a note a learner can read. Values only ever become numbers or
one of a fixed set of words, so nothing from the address reaches a file path or a shell.

=========  ===============  ==========================================================================
parameter  TrainConfig      accepted values
=========  ===============  ==========================================================================
units      hidden_units     1-4096, or up to 4 sizes separated by commas (``128,64``)
epochs     epochs           1-100
stop       stop_loss        a number above 0; ``off`` or absent: no early stop
norm       normalize        ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``
act        activation       relu, sigmoid, tanh
opt        optimizer        adam, sgd, rmsprop
lr         learning_rate    above 0, at most 10; ``default`` or absent: the optimizer's Keras default
batch      batch_size       1-4096
seed       seed             0 to 2**31-1
train      train_samples    10-60000; ``all`` or absent: all 60,000
holdout    holdout          test, split, none
lock/hide  (controls)       comma-separated control names: units, epochs, stop, norm, advanced
=========  ===============  ==========================================================================

The holdout fraction and test samples have no control, so no parameter: links leave them at their defaults.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import ConfigError, TrainConfig

PARAMS = {  # URL parameter → TrainConfig field
    "units": "hidden_units",
    "epochs": "epochs",
    "stop": "stop_loss",
    "norm": "normalize",
    "act": "activation",
    "opt": "optimizer",
    "lr": "learning_rate",
    "batch": "batch_size",
    "seed": "seed",
    "train": "train_samples",
    "holdout": "holdout",
}
PARAM_OF = {field: param for param, field in PARAMS.items()}
CONTROLS = ("units", "epochs", "stop", "norm", "advanced")  # what lock= and hide= can name
LOCK, HIDE = "lock", "hide"
KEYS = (*PARAMS, LOCK, HIDE)  # every parameter a setup uses; others (such as run) are not ours
MAX_LENGTH = 40  # no setting needs more characters, and notes never echo more
SAFE = frozenset(string.ascii_letters + string.digits + ".,+- ")  # also keeps notes free of Markdown
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
NONE_WORDS = ("off", "none", "all", "default")  # for stop, lr and train: the setting's "not set"
CHOICES = ("act", "opt", "holdout")


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
                values[field] = _setting(param, raw)
            except ConfigError as exc:
                notes.append(f"`{param}={shown(raw)}`: {exc}")
    config = _combined(values, notes)
    locked, hidden = _controls(LOCK, params.get(LOCK), notes), _controls(HIDE, params.get(HIDE), notes)
    return SharedSetup(config, locked, hidden, tuple(notes))


def setup_params(
    config: TrainConfig, locked: frozenset[str] = frozenset(), hidden: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The shortest parameters that give back ``config``, ``locked`` and ``hidden``: defaults are left out."""
    default = TrainConfig()
    params = {
        param: format_value(getattr(config, field))
        for param, field in PARAMS.items()
        if getattr(config, field) != getattr(default, field)
    }
    for key, names in ((LOCK, locked), (HIDE, hidden)):
        if chosen := [name for name in CONTROLS if name in names]:
            params[key] = ",".join(chosen)
    return params


def format_value(value: Any) -> str:
    """A setting as the address spells it: ``128,64``, ``1``/``0``, ``0.25``, ``off``."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


def shown(raw: str) -> str:
    """``raw`` safe to echo in a note: at most MAX_LENGTH characters, anything unusual as ``?``."""
    clipped = "".join(char if char in SAFE else "?" for char in raw[:MAX_LENGTH])
    return clipped + ("…" if len(raw) > MAX_LENGTH else "")


def _first(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return None if value is None else str(value)


def _checked(raw: str) -> str:
    if len(raw) > MAX_LENGTH:
        raise ConfigError(f"too long for a setting (at most {MAX_LENGTH} characters).")
    if not set(raw) <= SAFE:
        raise ConfigError("has characters no setting uses (letters, digits, '.', ',', '+' and '-' only).")
    return raw.strip()


def _setting(param: str, raw: str) -> Any:
    """The typed, validated value of one parameter; ConfigError says why not."""
    field = PARAMS[param]
    return getattr(TrainConfig(**{field: _converted(param, _checked(raw))}), field)


def _converted(param: str, text: str) -> Any:
    lower = text.lower()
    if param == "units":
        return tuple(part for part in text.split(",") if part.strip())
    if param == "norm":
        if lower not in TRUE + FALSE:
            raise ConfigError("Normalise must be 1 (divide pixels by 255) or 0 (raw pixels).")
        return lower in TRUE
    if param in ("stop", "lr", "train") and lower in NONE_WORDS:
        return None
    return lower if param in CHOICES else text


def _combined(values: dict[str, Any], notes: list[str]) -> TrainConfig:
    """One config from separately valid values; if they clash, the defaults."""
    try:
        return TrainConfig(**values)
    except ConfigError as exc:
        notes.append(f"These settings do not work together ({exc}); using the defaults.")
        return TrainConfig()


def _controls(key: str, value: Any, notes: list[str]) -> frozenset[str]:
    """Control names for ``lock=``/``hide=``; unknown names are noted and ignored."""
    raw = _first(value)
    if raw is None:
        return frozenset()
    try:
        names = {name.strip().lower() for name in _checked(raw).split(",") if name.strip()}
    except ConfigError as exc:
        notes.append(f"`{key}={shown(raw)}`: {exc}")
        return frozenset()
    for name in sorted(names - set(CONTROLS)):
        notes.append(f"`{key}={name}`: there is no control called {name!r}; use {', '.join(CONTROLS)}.")
    return frozenset(names & set(CONTROLS))
