"""The Train page's controls, grouped into small functions that return plain values or a TrainConfig.

The settings live in the page address (``fmnist_lab.teaching.share``): a link sets the controls once, may lock
(disable) or hide some of them, and every change is written back, so the address is always a shareable
link. Every control's key is set in session state before its widget exists and widgets get no default
values, so Streamlit never sees two sources for one value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from fmnist_lab.config import DEFAULT, DEFAULT_LEARNING_RATES, OPTIMIZERS, SETTINGS, ConfigError, Setting, TrainConfig
from fmnist_lab.execution.limits import host_limits
from fmnist_lab.teaching import share
from fmnist_lab.teaching.share import SharedSetup

CUSTOM = "custom…"
FRACTION_STEP = 0.01  # a class_fractions slider's step (fits_widget checks two decimals)
MAIN = ""  # the section of settings shown above any expander
ADVANCED = "Advanced"
SIGNATURE_KEY = "train_link_signature"  # the address's setup parameters, as last applied or written
SAVED_KEY = "train_link_params"  # the setup parameters last written, restored after a visit to another page
NOTES_KEY = "train_link_notes"  # what the last link asked for that could not be used


def widget_key(field: str) -> str:
    """A setting's widget key on the Train page."""
    return f"train_{field}"


def state_keys(field: str) -> tuple[str, ...]:
    """Every session-state key behind one setting's widgets."""
    if field == "hidden_units":
        return widget_key("units"), widget_key("custom_units"), widget_key("extra_layers")
    if field == "learning_rate":
        return tuple(widget_key(f"lr_{name}") for name in OPTIMIZERS)
    if SETTINGS[field].kind == "class_fractions":
        return widget_key(field), *(fraction_key(field, c) for c in range(len(SETTINGS[field].choices)))
    return (widget_key(field), f"{widget_key(field)}_on") if has_switch(SETTINGS[field]) else (widget_key(field),)


def fraction_key(field: str, c: int) -> str:
    """The key of class ``c``'s slider in a class_fractions setting."""
    return widget_key(f"{field}_{c}")


def has_switch(setting: Setting) -> bool:
    """An optional number (a goal) gets an on/off box beside its number input."""
    return setting.optional is not None and setting.kind == "float"


def section(setting: Setting) -> str | None:
    """Where the Train page shows a setting: MAIN, an expander's title, or None (links and the CLI only)."""
    if setting.widget.get("none"):
        return None
    return setting.widget.get("section") or (ADVANCED if setting.group else MAIN)


STATE_KEYS = {  # control (as lock= and hide= name it) → its widgets' session-state keys
    control: tuple(
        k for name, s in SETTINGS.items() if s.control == control and section(s) is not None for k in state_keys(name)
    )
    for control in share.CONTROLS
}


def hidden_units_ui(setting: Setting, locked: bool) -> tuple[int, ...] | str:
    """The layers' sizes, or an error message for a bad extra-layers entry."""
    presets = setting.widget["presets"]
    preset = st.selectbox(
        setting.label, [*presets, CUSTOM], key=widget_key("units"), disabled=locked, help=setting.help
    )
    units = preset
    if preset == CUSTOM:
        units = st.number_input(
            "Units", int(setting.low or 1), int(setting.high or 1), key=widget_key("custom_units"), disabled=locked
        )
    extra = st.text_input(
        "Extra hidden layers",
        key=widget_key("extra_layers"),
        disabled=locked,
        placeholder="e.g. 64, 32",
        help="Optional: sizes of more hidden layers after the first, comma-separated. Deeper is not always better.",
    )
    try:
        more = tuple(int(part) for part in extra.replace(" ", "").split(",") if part)
    except ValueError:
        return f"Extra hidden layers must be whole numbers separated by commas, like `64, 32`; got `{extra}`."
    return (int(units), *more)


def learning_rate_ui(setting: Setting, locked: bool) -> float | None:
    """One rate per optimizer (each starts at its Keras default); the default itself means None."""
    optimizer = st.session_state[widget_key("optimizer")]
    low, high = setting.widget["range"]
    rate = st.number_input(
        setting.label, low, high, format="%.5f", key=widget_key(f"lr_{optimizer}"), disabled=locked, help=setting.help
    )
    return None if rate == DEFAULT_LEARNING_RATES[optimizer] else rate


def class_fractions_ui(field: str, setting: Setting, locked: bool) -> tuple[tuple[int, float], ...]:
    """Pick classes, then one slider per picked class for its fraction."""
    names = st.multiselect(setting.label, setting.choices, key=widget_key(field), disabled=locked, help=setting.help)
    pairs = []
    for name in names:
        c = setting.class_index(name)
        label = f"{name}: {setting.meaning}"
        pairs.append((c, st.slider(label, 0.0, 1.0, step=FRACTION_STEP, key=fraction_key(field, c), disabled=locked)))
    return tuple(pairs)


def setting_ui(field: str, setting: Setting, locked: bool) -> Any:
    """The widget for one setting, chosen by its kind and hints; returns its value."""
    if field == "hidden_units":
        return hidden_units_ui(setting, locked)
    if field == "learning_rate":
        return learning_rate_ui(setting, locked)
    if setting.kind == "class_fractions":
        return class_fractions_ui(field, setting, locked)
    common: dict[str, Any] = {"key": widget_key(field), "disabled": locked, "help": setting.help}
    hints = setting.widget
    if setting.kind == "bool":
        return st.toggle(setting.label, **common)
    if setting.kind == "choice":
        if "labels" in hints:
            return st.radio(setting.label, setting.choices, format_func=hints["labels"].__getitem__, **common)
        return st.selectbox(setting.label, setting.choices, **common)
    if "presets" in hints:
        shown = lambda v: hints.get("labels", {}).get(v) or setting.describe(v)  # noqa: E731
        if setting.optional:
            return st.selectbox(setting.label, hints["presets"], format_func=shown, **common)
        return st.select_slider(setting.label, hints["presets"], **common)
    if "slider" in hints:
        return st.slider(setting.label, *hints["slider"], **common)
    if setting.kind == "int":
        return int(st.number_input(setting.label, int(setting.low or 0), int(setting.high or 0), **common))
    return _float_ui(setting, common)


def _float_ui(setting: Setting, common: dict[str, Any]) -> float | None:
    """A slider for a fraction, or an on/off box and a number for an optional goal."""
    low, high = setting.widget["range"]
    step = setting.widget.get("step")
    if not has_switch(setting):
        return st.slider(setting.label, low, high, step=step, **common)
    name = setting.label[0].lower() + setting.label[1:]
    article = "an" if name[0] in "aeiou" else "a"
    on = st.checkbox(f"Use {article} {name}", key=f"{common['key']}_on", disabled=common["disabled"], help=setting.help)
    if not on:
        return None
    form = setting.widget.get("format")
    return st.number_input(setting.label, low, high, step=step, format=form, **common)


def settings_ui(setup: SharedSetup) -> dict[str, Any]:
    """Every setting's value: from its widget, or from the link where it is hidden or has no widget."""
    values = {}
    sections: dict[str, list[str]] = {}
    for field, setting in SETTINGS.items():
        where = section(setting)
        if where is None or setting.control in setup.hidden:
            values[field] = getattr(setup.config, field)
        else:
            sections.setdefault(where, []).append(field)
    for title, names in sections.items():
        with st.expander(title) if title else contextlib.nullcontext():
            for field in names:
                values[field] = setting_ui(field, SETTINGS[field], SETTINGS[field].control in setup.locked)
    return values


def train_controls(linked: TrainConfig | None = None) -> TrainConfig | str:
    """Every control, set from the page address; returns the config, or a message saying what to fix.

    ``linked``: the settings of the run the page shows. When the controls first show in a session
    and the address holds no setup (a link to a run), they fill the controls as a setup link would,
    so the controls show how that run was made; later, the learner's own settings stay.
    """
    notice = st.empty()  # the link's notes, once it is known whether they still apply
    params = _address_params()
    if linked is not None and not params and SAVED_KEY not in st.session_state:  # the controls' first showing
        params = {key: [value] for key, value in share.setup_params(linked).items()}
    setup, fresh = _load_setup(params)
    if setup.hidden:
        st.caption("Some settings are fixed by your instructor.")
    config = _config(settings_ui(setup))
    if setup.locked - setup.hidden:
        st.caption("🔒 Greyed-out settings are fixed by your instructor's link.")
    if isinstance(config, TrainConfig):
        if _publish(config, params) and not fresh:  # the learner changed a setting: the notes are old news
            st.session_state.pop(NOTES_KEY, None)
        _share_caption(config, setup)
    if notes := st.session_state.get(NOTES_KEY):
        notice.warning("Some settings in this link were not used:\n" + "\n".join(f"- {note}" for note in notes))
    return config


def _config(values: dict[str, Any]) -> TrainConfig | str:
    if isinstance(units := values["hidden_units"], str):
        return units
    try:
        config = TrainConfig(**values)
    except ConfigError as exc:
        return str(exc)
    return host_limits().exceeded(config) or config


def _address_params() -> dict[str, list[str]]:
    """The address's setup parameters; none (the sidebar's links carry only ?run): the last ones written."""
    params = {key: st.query_params.get_all(key) for key in share.KEYS if key in st.query_params}
    return params or dict(st.session_state.get(SAVED_KEY, {}))


def _signature(params: Mapping[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((key, tuple(values)) for key, values in params.items()))


def _load_setup(params: Mapping[str, list[str]]) -> tuple[SharedSetup, bool]:
    """The link's setup, and whether it is new: then (once) it sets every control; locked ones, every time."""
    setup = _fit_to_widgets(share.parse_setup(params))
    fresh = bool(params) and st.session_state.get(SIGNATURE_KEY) != _signature(params)
    forced = {key for name in setup.locked for key in STATE_KEYS[name]}
    for key, value in _widget_state(setup.config).items():
        if fresh or key in forced or key not in st.session_state:
            st.session_state[key] = value
    if fresh:
        st.session_state[SIGNATURE_KEY] = _signature(params)
        st.session_state[NOTES_KEY] = setup.notes
    return setup, fresh


def fits_widget(setting: Setting, value: Any) -> str | None:
    """Why a shown widget cannot take ``value`` (the widget's range is narrower than the setting's), or None."""
    hints = setting.widget
    if setting.kind == "class_fractions" and any(round(f, 2) != f for _, f in value):
        return f"the {setting.label} sliders here move in steps of {FRACTION_STEP:g}"
    if "presets" in hints and setting.kind != "layers" and value not in hints["presets"]:
        shown = ", ".join(setting.format(v) if v is not None else "all" for v in hints["presets"])
        return f"{setting.label} here: one of {shown}"
    if "slider" in hints and not hints["slider"][0] <= value <= hints["slider"][1]:
        return f"the {setting.label} slider here stops at {hints['slider'][1]}"
    low, high = hints.get("range", (None, None))
    if value is not None and low is not None and not low <= value <= high:
        return f"{setting.label} here: {low:g} to {high:g}"
    return None


def _fit_to_widgets(setup: SharedSetup) -> SharedSetup:
    """Values a shown widget cannot take fall back to the defaults, each with a note."""
    config, notes = setup.config, list(setup.notes)
    for field, setting in SETTINGS.items():
        value = getattr(config, field)
        if section(setting) is None or setting.control in setup.hidden or not (why := fits_widget(setting, value)):
            continue
        config = replace(config, **{field: getattr(DEFAULT, field)})
        notes.append(f"`{setting.param}={setting.format(value)}`: {why}; using the default.")
    for field, why in host_limits().problems(config).items():  # the host's caps (limits.py)
        value = SETTINGS[field].format(getattr(config, field))
        config = replace(config, **{field: getattr(DEFAULT, field)})
        notes.append(f"`{SETTINGS[field].param}={value}`: {why} Using the default.")
    return replace(setup, config=config, notes=tuple(notes))


def _widget_state(config: TrainConfig) -> dict[str, object]:
    """Each control's session-state value that shows ``config``."""
    first, *more = config.hidden_units
    state: dict[str, object] = {widget_key(f"lr_{name}"): rate for name, rate in DEFAULT_LEARNING_RATES.items()}
    state[widget_key(f"lr_{config.optimizer}")] = config.effective_learning_rate
    units = SETTINGS["hidden_units"]
    state[widget_key("units")] = first if first in units.widget["presets"] else CUSTOM
    state[widget_key("custom_units")] = first
    state[widget_key("extra_layers")] = ", ".join(map(str, more))
    for field, setting in SETTINGS.items():
        if field in ("hidden_units", "learning_rate") or section(setting) is None:
            continue
        value = getattr(config, field)
        if setting.kind == "class_fractions":
            state |= _fractions_state(field, setting, value)
            continue
        if has_switch(setting):
            state[f"{widget_key(field)}_on"] = value is not None
            value = setting.widget.get("start", setting.widget["range"][0]) if value is None else value
        state[widget_key(field)] = value
    return state


def _fractions_state(field: str, setting: Setting, value: tuple[tuple[int, float], ...]) -> dict[str, object]:
    """The picked classes' names, and every class's slider (unpicked ones at the widget's start)."""
    chosen = dict(value)
    state: dict[str, object] = {widget_key(field): [setting.choices[c] for c in chosen]}
    for c in range(len(setting.choices)):
        state[fraction_key(field, c)] = chosen.get(c, setting.widget["start"])
    return state


def _publish(config: TrainConfig, params: Mapping[str, list[str]]) -> bool:
    """Write the settings into the address (other parameters untouched); True if it changed."""
    wanted = share.setup_params(config)
    for key in share.PARAMS:
        if key in wanted and st.query_params.get_all(key) != [wanted[key]]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key in (share.LOCK, share.HIDE):
        if key in params and key not in st.query_params:  # restored after a visit to another page
            st.query_params[key] = params[key]
    written = {key: st.query_params.get_all(key) for key in share.KEYS if key in st.query_params}
    changed = _signature(written) != st.session_state.get(SIGNATURE_KEY)
    st.session_state[SAVED_KEY], st.session_state[SIGNATURE_KEY] = written, _signature(written)
    return changed


def _share_caption(config: TrainConfig, setup: SharedSetup) -> None:
    if query := urlencode(share.setup_params(config, setup.locked, setup.hidden), safe=","):
        st.caption(f"Share this setup: the page address holds it, or add `?{query}` to the Train page's address.")
