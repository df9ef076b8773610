"""The Train page's controls: the setup in the page address, the widgets that show it, the config they give.

The settings live in the page address (``fmnist_lab.teaching.share``): a link sets the controls once, may lock
(disable) or hide some of them, and every change is written back, so the address is always a shareable
link. Each setting's widgets and their session-state entries come from one mapping (``widgets.BINDINGS``):
it fills the widgets from a link and reads them back. Every entry is set before its widget exists and
widgets get no default values, so Streamlit never sees two sources for one value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from fmnist_lab.config import DEFAULTS, SETTINGS, ConfigError, TrainConfig
from fmnist_lab.execution.limits import host_limits
from fmnist_lab.teaching import share
from fmnist_lab.teaching.share import SharedSetup
from fmnist_lab.ui.widgets import BINDINGS, CUSTOM, MAIN, Binding, fraction_key, read_values, section, widget_state

__all__ = ["CUSTOM", "STATE_KEYS", "fraction_key", "train_controls"]

SIGNATURE_KEY = "train_link_signature"  # the address's setup parameters, as last applied or written
SAVED_KEY = "train_link_params"  # the setup parameters last written, restored after a visit to another page
NOTES_KEY = "train_link_notes"  # what the last link asked for that could not be used

STATE_KEYS = {  # control (as lock= and hide= name it) → its widgets' session-state keys
    control: tuple(key for b in BINDINGS.values() if b.setting.control == control for key in b.keys())
    for control in share.CONTROLS
}


def settings_ui(setup: SharedSetup) -> tuple[dict[str, Any], list[str]]:
    """Every setting's value: from its widgets, or from the link where they are hidden; and what to fix.

    The values are read from the widgets' session-state entries before the widgets are drawn (a
    change is in session state when the rerun starts), so a widget can depend on another's value: the
    learning rate shown is the chosen optimizer's, and a setting that does not apply is not shown.
    """
    hidden = frozenset(name for name, b in BINDINGS.items() if b.setting.control in setup.hidden)
    values, problems = read_values(st.session_state, setup.config.values(), hidden)
    sections: dict[str, list[Binding]] = {}
    for name, binding in BINDINGS.items():
        if name not in hidden and binding.setting.applies(values):
            sections.setdefault(section(binding.setting) or MAIN, []).append(binding)
    for title, bindings in sections.items():
        with st.expander(title) if title else contextlib.nullcontext():
            for binding in bindings:
                binding.draw(binding.setting.control in setup.locked, values)
    return values, problems


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
    config = _config(*settings_ui(setup))
    if setup.locked - setup.hidden:
        st.caption("🔒 Greyed-out settings are fixed by your instructor's link.")
    if caps := host_limits().describe():
        st.caption(f":material/info: This server trains {caps}.")
    if isinstance(config, TrainConfig):
        if _publish(config, params) and not fresh:  # the learner changed a setting: the notes are old news
            st.session_state.pop(NOTES_KEY, None)
        _share_caption(config, setup)
    if notes := st.session_state.get(NOTES_KEY):
        notice.warning("Some settings in this link were not used:\n" + "\n".join(f"- {note}" for note in notes))
    return config


def _config(values: dict[str, Any], problems: list[str]) -> TrainConfig | str:
    if problems:
        return problems[0]
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
    setup = fit_to_widgets(share.parse_setup(params))
    fresh = bool(params) and st.session_state.get(SIGNATURE_KEY) != _signature(params)
    forced = {key for name in setup.locked for key in STATE_KEYS[name]}
    for key, value in widget_state(setup.config.values()).items():
        if fresh or key in forced or key not in st.session_state:
            st.session_state[key] = value
    if fresh:
        st.session_state[SIGNATURE_KEY] = _signature(params)
        st.session_state[NOTES_KEY] = setup.notes
    return setup, fresh


def fit_to_widgets(setup: SharedSetup) -> SharedSetup:
    """Values a shown widget cannot take fall back to the defaults, each with a note; so do the host's caps."""
    values, notes = setup.config.values(), list(setup.notes)
    for name, binding in BINDINGS.items():
        value, setting = values[name], binding.setting
        if setting.control in setup.hidden or not (why := binding.fits(value)):
            continue
        values[name] = DEFAULTS[name]
        notes.append(f"`{setting.param}={setting.format(value)}`: {why}; using the default.")
    config = share.combined(values, notes)
    limits = host_limits()  # the host's caps: a value over one falls to what this server allows
    if problems := limits.problems(config):
        allowed = limits.fitted(config)
        for name, why in problems.items():
            was, now = (SETTINGS[name].format(getattr(c, name)) for c in (config, allowed))
            notes.append(f"`{SETTINGS[name].param}={was}`: {why} Using {SETTINGS[name].param}={now}.")
        config = allowed
    return replace(setup, config=config, notes=tuple(notes))


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
