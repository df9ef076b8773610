"""How one training setting describes itself, once, for every place that shows or reads it.

Each ``TrainConfig`` field carries a ``Setting`` (``dataclasses.field(metadata=…)``): the learner's
label and help, its kind and range or choices, its URL parameter, CLI flag, control group and how it
reads in a summary. The CLI parser, the link parser, the Train page's widgets and the compare table
are generated from these, so a new setting is one field (plus the code that uses it).

Rules between settings are declared once too: a ``Rule`` names its fields, a test, a learner's
message and the field a link loses when it is broken, and a setting that only counts when another has
one value says so (``applies_when``). The config refuses a broken rule, a link drops the field with a
note, the CLI names the flag, the widgets hide what does not apply, and the tests' strategies obey
the same declarations.

This module turns values from anywhere (JSON, a link, the command line, a widget) into a setting's
typed, checked value, and back into text. Every fault is a ``ConfigError`` a learner can read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
NONE_WORDS = ("off", "none", "all", "default")  # an optional setting's "not set", as links and the CLI spell it
KINDS = ("int", "float", "bool", "choice", "layers", "class_fractions")
EMPTY_WORDS = ("", "none", "off")  # a class_fractions setting's "no classes"


class ConfigError(ValueError):
    """A setting is out of range; the message is meant for a learner."""


@dataclass(frozen=True)
class Setting:
    """Everything the lab needs to know about one ``TrainConfig`` field."""

    label: str  # the learner's name for it, e.g. "Hidden units"
    help: str  # one or two sentences: what it does and what to try
    kind: str  # one of KINDS; "layers" is a tuple of ints (one Dense layer each); "class_fractions" a
    # sorted tuple of (class index, fraction) pairs, its classes named by ``choices``
    param: str  # URL parameter (``?units=…``), also what ``lock=`` and ``hide=`` call its control
    flag: str  # CLI option, e.g. ``--hidden-units``
    meaning: str = ""  # why the range is what it is, shown after a range error
    low: float | None = None  # inclusive, unless ``above``
    high: float | None = None  # inclusive
    above: bool = False  # the value must be strictly above ``low``
    choices: tuple[str, ...] = ()
    optional: str | None = None  # what None means ("off", "all 60,000"); None: a value is required
    group: str = ""  # a wider control group (e.g. "advanced") that lock=/hide= may name instead
    short: str = "{}"  # the value in a run's summary and name, e.g. "stop<{:g}"
    column: str = ""  # the compare table's heading (default: the label)
    widget: dict[str, Any] = field(default_factory=dict)  # the Train page's hints: presets, labels, limits
    applies_when: tuple[str, Any] | None = None  # (field, value): counts only then, e.g. ("optimizer", "sgd")
    default_by: tuple[str, Mapping[str, Any]] | None = None  # None means this table's entry for another field

    @property
    def heading(self) -> str:
        return self.column or self.label

    @property
    def control(self) -> str:
        """The name lock=/hide= use for this setting's widget group: its group, else its own parameter."""
        return self.group or self.param

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether this setting counts, given every field's value (``applies_when``)."""
        return self.applies_when is None or values[self.applies_when[0]] == self.applies_when[1]

    def effective(self, value: Any, values: Mapping[str, Any]) -> Any:
        """``value``, or where it is None and ``default_by`` is set, the default for the other field in ``values``."""
        if value is None and self.default_by is not None:
            by, table = self.default_by
            return table[values[by]]
        return value

    def check(self, value: Any) -> Any:
        """The typed, validated value; ConfigError says why not."""
        if value is None:
            if self.optional is None:
                raise ConfigError(f"{self.label} needs a value.")
            return None
        converter = {"int": self._int, "float": self._float, "bool": self._bool, "choice": self._choice}
        converter |= {"layers": self._layers, "class_fractions": self._class_fractions}
        return converter[self.kind](value)

    def parse(self, text: str) -> Any:
        """The value a link or the command line spells as ``text``."""
        lower = text.strip().lower()
        if self.optional is not None and lower in NONE_WORDS:
            return None
        if self.kind == "bool":
            if lower not in TRUE_WORDS + FALSE_WORDS:
                raise ConfigError(f"{self.label} must be 1 ({self.short_true}) or 0 ({self.short_false}).")
            return lower in TRUE_WORDS
        if self.kind == "layers":
            return self.check(tuple(part for part in text.split(",") if part.strip()))
        if self.kind == "class_fractions":
            return self._parse_fractions(text)
        return self.check(lower if self.kind == "choice" else text.strip())

    def format(self, value: Any) -> str:
        """``value`` as a link or the command line spells it: ``128,64``, ``1``/``0``, ``0.25``, ``off``."""
        if value is None:
            return "off"
        if self.kind == "class_fractions":
            return ",".join(f"{self.class_token(c)}:{fraction!r}" for c, fraction in value) or "none"
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, tuple):
            return ",".join(map(str, value))
        return repr(value) if isinstance(value, float) else str(value)

    def describe(self, value: Any) -> str:
        """The value for a learner, e.g. ``÷255``, ``stop<0.25``, ``10,000 images``."""
        if self.kind == "bool":
            return self.short_true if value else self.short_false
        if self.kind == "class_fractions":
            shares = ", ".join(f"{self.choices[c]} {fraction * 100:g}%" for c, fraction in value)
            return self.short.format(shares) if value else "none"
        if isinstance(value, tuple):
            value = "-".join(map(str, value))
        return self.optional or "off" if value is None else self.short.format(value)

    @property
    def short_true(self) -> str:
        return self.short.split("|")[0]

    @property
    def short_false(self) -> str:
        return self.short.split("|")[-1]

    # -- one converter per kind -----------------------------------------------
    def _int(self, value: Any, label: str | None = None) -> int:
        number = as_int(label or self.label, value)
        self._check_range(number, label)
        return number

    def _float(self, value: Any) -> float:
        number = as_float(self.label, value)
        self._check_range(number)
        return number

    def _bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{self.label} must be true or false.")
        return value

    def _choice(self, value: Any) -> str:
        if value not in self.choices:
            raise ConfigError(f"{self.label} must be one of {', '.join(self.choices)}; got {value!r}.")
        return str(value)

    def _layers(self, value: Any) -> tuple[int, ...]:
        items = (value,) if isinstance(value, int | str) or not isinstance(value, Iterable) else tuple(value)
        low, high = self.widget["layers"]
        if not low <= len(items) <= high:
            raise ConfigError(f"Use between {low} and {high} hidden layers.")
        return tuple(self._int(item) for item in items)

    def _class_fractions(self, value: Any) -> tuple[tuple[int, float], ...]:
        """From ``{"Shirt": 0.1}``, ``{6: 0.1}`` or ``[[6, 0.1]]``: the pairs sorted by class, each class once."""
        pairs = value.items() if isinstance(value, Mapping) else value
        if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
            raise ConfigError(f"{self.label} must name classes with a fraction each, like Shirt:0.1.")
        checked: dict[int, float] = {}
        for pair in pairs:
            if isinstance(pair, str | bytes) or not isinstance(pair, Iterable) or len(pair := tuple(pair)) != 2:
                raise ConfigError(f"{self.label} must name classes with a fraction each, like Shirt:0.1.")
            c = self.class_index(pair[0])
            if c in checked:
                raise ConfigError(f"{self.label} names {self.choices[c]} twice.")
            number = as_float(f"{self.label} of {self.choices[c]}", pair[1])
            self._check_range(number, f"{self.label} of {self.choices[c]}")
            checked[c] = number
        return tuple(sorted(checked.items()))

    def _parse_fractions(self, text: str) -> tuple[tuple[int, float], ...]:
        """``Shirt:0.1,Coat=0.5`` (class by name, any case, or by index)."""
        if text.strip().lower() in EMPTY_WORDS:
            return ()
        pairs = []
        for part in filter(str.strip, text.split(",")):
            name, sep, fraction = part.replace("=", ":").rpartition(":")
            if not sep:
                raise ConfigError(f"{self.label}: write a class and its fraction, like Shirt:0.1; got {part[:40]!r}.")
            pairs.append((name, fraction))
        return self.check(pairs)

    def class_index(self, name: Any) -> int:
        """The class ``name`` means: its index, or its name in any case, spaces and marks as dashes."""
        if not isinstance(name, bool) and isinstance(name, int) and 0 <= name < len(self.choices):
            return name
        text = str(name).strip()
        if text.isascii() and text.isdecimal() and len(text) <= 2 and int(text) < len(self.choices):
            return int(text)
        tokens = [_token(choice).lower() for choice in self.choices]
        if _token(text).lower() in tokens:
            return tokens.index(_token(text).lower())
        raise ConfigError(
            f"{self.label}: there is no class {text[:40]!r}; use one of {', '.join(self.choices)} "
            f"(or 0 to {len(self.choices) - 1})."
        )

    def class_token(self, c: int) -> str:
        """A class's name as links and the command line spell it: ``T-shirt-top``, ``Ankle-boot``."""
        return _token(self.choices[c])

    def _check_range(self, value: float, label: str | None = None) -> None:
        low, high, label = self.low, self.high, label or self.label
        too_low = low is not None and (value <= low if self.above else value < low)
        if not too_low and (high is None or value <= high):
            return
        why = f" ({self.meaning})" if self.meaning else ""
        if self.kind in ("int", "layers"):
            raise ConfigError(f"{label} must be between {low:,} and {high:,}{why}; got {value:,}.")
        bounds = [f"above {low:g}" if self.above else f"at least {low:g}"] if low is not None else []
        bounds += [f"at most {high:g}"] if high is not None else []
        raise ConfigError(f"{label} must be {' and '.join(bounds)}{why}; got {value:g}.")


@dataclass(frozen=True)
class Rule:
    """A check spanning settings, declared once; the config, links, the CLI, widgets and tests all apply it."""

    fields: tuple[str, ...]  # the settings it reads; ``test`` sees only these
    test: Callable[[Mapping[str, Any]], bool]  # given those fields' checked values: True when they agree
    message: str  # for a learner: what is wrong and how to fix it
    reset: str  # the field a link loses (back to its default) when the rule is broken

    def holds(self, values: Mapping[str, Any]) -> bool:
        return self.test({name: values[name] for name in self.fields})


class RuleError(ConfigError):
    """Settings that are each valid but break a ``Rule`` together."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule.message)
        self.rule = rule


def applies_rule(name: str, setting: Setting, default: Any, other: Setting) -> Rule:
    """The rule behind ``setting.applies_when``: off its ``default`` only when ``other`` has the value named."""
    if setting.applies_when is None:
        raise ValueError(f"{name} applies always: it has no applies_when")
    by, wanted = setting.applies_when
    message = (
        f"{setting.label} applies only when {other.label.lower()} is {other.format(wanted)}: choose "
        f"{other.format(wanted)}, or leave {setting.label.lower()} at {setting.format(default)}."
    )
    return Rule((name, by), lambda v: v[by] == wanted or v[name] == default, message, reset=name)


def _token(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def as_int(name: str, value: Any) -> int:
    """``value`` as a whole number (``7``, ``7.0``, ``"7"``), never a bool."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None


def as_float(name: str, value: Any) -> float:
    """``value`` as a finite number; NaN, infinity and bools are refused."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a number, not {value!r}.")
    return number
