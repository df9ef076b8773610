"""How each setting shows on the Train page: its widgets, and one two-way mapping between a value and them.

A ``Binding`` is chosen from the setting's declared kind and hints (``binding_of``), never from its
name. It knows its widgets' session-state keys (``keys``), the entries that show a value (``state``),
the value those entries hold (``value``), why a value does not fit the widgets (``fits``), and how to
draw them (``draw``). Widgets are drawn with keys only, never default values, so the same mapping
fills them from a link and reads them back, and Streamlit never sees two sources for one value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import streamlit as st

from fmnist_lab.config import DEFAULTS, SETTINGS, ConfigError, Setting

CUSTOM = "custom…"
FRACTION_STEP = 0.01  # a class_fractions slider's step (``fits`` checks two decimals)
MAIN = ""  # the section of settings shown above any expander
ADVANCED = "Advanced"


class State(Protocol):
    """Session-state entries, by key (``st.session_state``, or a dict in tests)."""

    def __getitem__(self, key: str) -> Any: ...


Values = Mapping[str, Any]  # every field's value, by name (for settings that depend on another)


def widget_key(name: str) -> str:
    """A widget's key on the Train page."""
    return f"train_{name}"


def section(setting: Setting) -> str | None:
    """Where the Train page shows a setting: MAIN, an expander's title, or None (links and the CLI only)."""
    if setting.widget.get("none"):
        return None
    return setting.widget.get("section") or (ADVANCED if setting.group else MAIN)


@dataclass(frozen=True)
class Binding:
    """One widget keyed by its field's name, holding the value itself: a toggle, radio, select or slider."""

    field: str
    setting: Setting

    @property
    def key(self) -> str:
        return widget_key(self.field)

    def keys(self) -> tuple[str, ...]:
        """Every session-state key behind this setting's widgets."""
        return (self.key,)

    def state(self, value: Any, values: Values) -> dict[str, Any]:
        """The session-state entries that show ``value`` (``values``: the whole config's)."""
        return {self.key: value}

    def value(self, state: State, values: Values) -> Any:
        """The value the entries in ``state`` show; ConfigError if they show none."""
        return state[self.key]

    def fits(self, value: Any) -> str | None:
        """Why the widgets cannot show ``value`` (their range is narrower than the setting's), or None."""
        hints, setting = self.setting.widget, self.setting
        if "presets" in hints and value not in hints["presets"]:
            shown = ", ".join(setting.format(v) if v is not None else "all" for v in hints["presets"])
            return f"{setting.label} here: one of {shown}"
        if "slider" in hints and not hints["slider"][0] <= value <= hints["slider"][1]:
            return f"the {setting.label} slider here stops at {hints['slider'][1]}"
        return _outside(setting, value)

    def draw(self, locked: bool, values: Values) -> None:
        setting, hints = self.setting, self.setting.widget
        common: dict[str, Any] = {"key": self.key, "disabled": locked, "help": setting.help}
        if setting.kind == "bool":
            st.toggle(setting.label, **common)
        elif setting.kind == "choice" and "labels" in hints:
            st.radio(setting.label, setting.choices, format_func=hints["labels"].__getitem__, **common)
        elif setting.kind == "choice":
            st.selectbox(setting.label, setting.choices, **common)
        elif "presets" in hints and setting.optional:
            shown = lambda v: hints.get("labels", {}).get(v) or setting.describe(v)  # noqa: E731
            st.selectbox(setting.label, hints["presets"], format_func=shown, **common)
        elif "presets" in hints:
            st.select_slider(setting.label, hints["presets"], **common)
        elif "slider" in hints:
            st.slider(setting.label, *hints["slider"], **common)
        elif setting.kind == "int":
            st.number_input(setting.label, int(setting.low or 0), int(setting.high or 0), **common)
        else:
            st.slider(setting.label, *_range(setting), step=hints.get("step"), **common)


class Goal(Binding):
    """An optional number (a goal): an on/off box, and the number while it is on."""

    @property
    def switch(self) -> str:
        return f"{self.key}_on"

    def keys(self) -> tuple[str, ...]:
        return self.key, self.switch

    def state(self, value: Any, values: Values) -> dict[str, Any]:
        start = self.setting.widget.get("start", _range(self.setting)[0])
        return {self.switch: value is not None, self.key: start if value is None else value}

    def value(self, state: State, values: Values) -> Any:
        return state[self.key] if state[self.switch] else None

    def draw(self, locked: bool, values: Values) -> None:
        setting = self.setting
        name = setting.label[0].lower() + setting.label[1:]
        article = "an" if name[0] in "aeiou" else "a"
        if st.checkbox(f"Use {article} {name}", key=self.switch, disabled=locked, help=setting.help):
            form, step = setting.widget.get("format"), setting.widget.get("step")
            st.number_input(setting.label, *_range(setting), step=step, format=form, key=self.key, disabled=locked)


class PerChoice(Binding):
    """A number kept per value of another setting (``default_by``), each starting at that value's default."""

    @property
    def defaults(self) -> tuple[str, Mapping[str, Any]]:
        assert self.setting.default_by is not None  # binding_of picks this kind only then
        return self.setting.default_by

    def key_for(self, choice: str) -> str:
        return widget_key(f"{self.setting.param}_{choice}")

    def keys(self) -> tuple[str, ...]:
        return tuple(self.key_for(choice) for choice in self.defaults[1])

    def state(self, value: Any, values: Values) -> dict[str, Any]:
        by, table = self.defaults
        current = {self.key_for(values[by]): self.setting.effective(value, values)}
        return {self.key_for(choice): default for choice, default in table.items()} | current

    def value(self, state: State, values: Values) -> Any:
        by, table = self.defaults
        number = state[self.key_for(values[by])]
        return None if number == table[values[by]] else number  # the default itself means "not set"

    def draw(self, locked: bool, values: Values) -> None:
        setting, key = self.setting, self.key_for(values[self.defaults[0]])
        form = setting.widget.get("format")
        st.number_input(setting.label, *_range(setting), format=form, key=key, disabled=locked, help=setting.help)


class Layers(Binding):
    """Hidden layers: a preset or custom size for the first, and the others' sizes as text."""

    @property
    def key(self) -> str:
        return widget_key(self.setting.param)

    def keys(self) -> tuple[str, ...]:
        return self.key, widget_key(f"custom_{self.setting.param}"), widget_key("extra_layers")

    def state(self, value: Any, values: Values) -> dict[str, Any]:
        first, *more = value
        preset, custom, extra = self.keys()
        return {
            preset: first if first in self.setting.widget["presets"] else CUSTOM,
            custom: first,
            extra: ", ".join(map(str, more)),
        }

    def value(self, state: State, values: Values) -> Any:
        preset, custom, extra = (state[key] for key in self.keys())
        try:
            more = tuple(int(part) for part in extra.replace(" ", "").split(",") if part)
        except ValueError:
            raise ConfigError(
                f"Extra hidden layers must be whole numbers separated by commas, like `64, 32`; got `{extra}`."
            ) from None
        return (int(custom if preset == CUSTOM else preset), *more)

    def fits(self, value: Any) -> str | None:
        return None  # any size: a custom number for the first layer, text for the others

    def draw(self, locked: bool, values: Values) -> None:
        setting, (preset, custom, extra) = self.setting, self.keys()
        choice = st.selectbox(
            setting.label, [*setting.widget["presets"], CUSTOM], key=preset, disabled=locked, help=setting.help
        )
        if choice == CUSTOM:
            low, high = _range(setting)
            st.number_input("Units", int(low), int(high), key=custom, disabled=locked)
        st.text_input(
            "Extra hidden layers",
            key=extra,
            disabled=locked,
            placeholder="e.g. 64, 32",
            help="Optional: sizes of more hidden layers after the first, comma-separated. Deeper is not always better.",
        )


class Fractions(Binding):
    """Classes with a fraction each: pick classes, then one slider per picked class."""

    def fraction_key(self, c: int) -> str:
        return fraction_key(self.field, c)

    def keys(self) -> tuple[str, ...]:
        return self.key, *(self.fraction_key(c) for c in range(len(self.setting.choices)))

    def state(self, value: Any, values: Values) -> dict[str, Any]:
        """The picked classes' names, and every class's slider (unpicked ones at the widget's start)."""
        chosen, setting = dict(value), self.setting
        sliders = {self.fraction_key(c): chosen.get(c, setting.widget["start"]) for c in range(len(setting.choices))}
        return {self.key: [setting.choices[c] for c in chosen]} | sliders

    def value(self, state: State, values: Values) -> Any:
        picked = (self.setting.class_index(name) for name in state[self.key])
        return tuple((c, state[self.fraction_key(c)]) for c in picked)

    def fits(self, value: Any) -> str | None:
        if any(round(fraction, 2) != fraction for _, fraction in value):
            return f"the {self.setting.label} sliders here move in steps of {FRACTION_STEP:g}"
        return None

    def draw(self, locked: bool, values: Values) -> None:
        setting = self.setting
        names = st.multiselect(setting.label, setting.choices, key=self.key, disabled=locked, help=setting.help)
        for name in names:
            c = setting.class_index(name)
            label = f"{name}: {setting.meaning}"
            st.slider(label, 0.0, 1.0, step=FRACTION_STEP, key=self.fraction_key(c), disabled=locked)


def fraction_key(field: str, c: int) -> str:
    """The key of class ``c``'s slider in a class_fractions setting."""
    return widget_key(f"{field}_{c}")


def binding_of(field: str, setting: Setting) -> Binding:
    """The widgets for a setting, from its declared kind and hints."""
    if setting.default_by is not None:
        return PerChoice(field, setting)
    kinds: dict[str, type[Binding]] = {"layers": Layers, "class_fractions": Fractions}
    if setting.kind in kinds:
        return kinds[setting.kind](field, setting)
    return Goal(field, setting) if setting.optional is not None and setting.kind == "float" else Binding(field, setting)


def _range(setting: Setting) -> tuple[Any, Any]:
    """The widget's range: its hint, else the setting's own."""
    return setting.widget.get("range") or (setting.low, setting.high)


def _outside(setting: Setting, value: Any) -> str | None:
    low, high = _range(setting)
    if value is not None and low is not None and high is not None and not low <= value <= high:
        return f"{setting.label} here: {low:g} to {high:g}"
    return None


BINDINGS: dict[str, Binding] = {  # field → its widgets, for every setting the Train page shows
    name: binding_of(name, setting) for name, setting in SETTINGS.items() if section(setting) is not None
}
READ_ORDER = sorted(  # settings that depend on another are read after every other one, so that one is known
    BINDINGS, key=lambda name: SETTINGS[name].applies_when is not None or SETTINGS[name].default_by is not None
)


def widget_state(values: Values) -> dict[str, Any]:
    """Every widget's session-state entries that show the config whose field values are ``values``."""
    return {key: entry for b in BINDINGS.values() for key, entry in b.state(values[b.field], values).items()}


def read_values(state: State, base: Values, skipped: frozenset[str] = frozenset()) -> tuple[dict[str, Any], list[str]]:
    """The value of every field the widgets in ``state`` show, the others from ``base``; a setting that does
    not apply is at its default. Also what the widgets show that is no value (a learner's message each)."""
    values, problems = dict(base), []
    for name in READ_ORDER:
        if name in skipped:
            continue
        binding = BINDINGS[name]
        try:
            values[name] = binding.value(state, values) if binding.setting.applies(values) else DEFAULTS[name]
        except ConfigError as exc:
            problems.append(str(exc))
    return values, problems
