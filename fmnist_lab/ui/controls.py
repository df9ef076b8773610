"""The Train page's controls, grouped into small functions that return plain values or a TrainConfig.

The settings live in the page address (``fmnist_lab.share``): a link sets the controls once, may lock
(disable) or hide some of them, and every change is written back, so the address is always a shareable
link. Every control's key is set in session state before its widget exists and widgets get no default
values, so Streamlit never sees two sources for one value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from .. import share
from ..config import ACTIVATIONS, DEFAULT_LEARNING_RATES, OPTIMIZERS, ConfigError, TrainConfig
from ..share import SharedSetup

UNIT_PRESETS = (32, 64, 128, 256, 512, 1024)
CUSTOM = "custom…"
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512)
TRAIN_SIZES = {"all 60,000": None, "30,000": 30_000, "10,000": 10_000, "3,000 (quick try)": 3_000}
HOLDOUT_LABELS = {"test": "the 10,000 test images", "split": "10% of the training images", "none": "nothing"}
MAX_EPOCHS_SHOWN = 50  # the slider's end; a link may fix more only for a hidden control
STOP_RANGE = (0.01, 5.0)
LR_RANGE = (0.00001, 1.0)
STATE_KEYS = {  # control (as lock= and hide= name it) → its widgets' session-state keys
    "units": ("train_units", "train_custom_units", "train_extra_layers"),
    "epochs": ("train_epochs",),
    "stop": ("train_stop_on", "train_stop_loss"),
    "norm": ("train_normalize",),
    "advanced": ("train_activation", "train_optimizer", *(f"train_lr_{name}" for name in OPTIMIZERS))
    + ("train_batch", "train_seed", "train_size", "train_holdout"),
}
WIDGET_LIMITS: tuple[tuple[str, str, Callable[[Any], bool], str], ...] = (  # (control, field, fits, why not)
    ("epochs", "epochs", lambda v: v <= MAX_EPOCHS_SHOWN, f"the Epochs slider here stops at {MAX_EPOCHS_SHOWN}"),
    ("stop", "stop_loss", lambda v: v is None or STOP_RANGE[0] <= v <= STOP_RANGE[1], "the threshold here is 0.01–5"),
    ("advanced", "learning_rate", lambda v: v is None or LR_RANGE[0] <= v <= LR_RANGE[1], "the rate here is 0.00001–1"),
    ("advanced", "batch_size", lambda v: v in BATCH_SIZES, f"the batch size here is one of {BATCH_SIZES}"),
    ("advanced", "train_samples", lambda v: v in TRAIN_SIZES.values(), "training images here: all, 30000, 10000, 3000"),
)
SIGNATURE_KEY = "train_link_signature"  # the address's setup parameters, as last applied or written
SAVED_KEY = "train_link_params"  # the setup parameters last written, restored after a visit to another page
NOTES_KEY = "train_link_notes"  # what the last link asked for that could not be used


def hidden_units_ui(setup: SharedSetup) -> tuple[int, ...] | str:
    """The layers' sizes, or an error message for a bad extra-layers entry."""
    if "units" in setup.hidden:
        return setup.config.hidden_units
    locked = "units" in setup.locked
    preset = st.selectbox(
        "Hidden units",
        [*UNIT_PRESETS, CUSTOM],
        key="train_units",
        disabled=locked,
        help="Neurons in the hidden layer. More units learn finer patterns but take longer; 128 vs 1024 is the "
        "classic comparison: 1024 gains about a point of accuracy for eight times the parameters.",
    )
    units = preset
    if preset == CUSTOM:
        units = st.number_input("Units", 1, 4096, key="train_custom_units", disabled=locked, help="From 1 to 4096.")
    extra = st.text_input(
        "Extra hidden layers",
        key="train_extra_layers",
        disabled=locked,
        placeholder="e.g. 64, 32",
        help="Optional: sizes of more hidden layers after the first, comma-separated. Deeper is not always better.",
    )
    try:
        more = tuple(int(part) for part in extra.replace(" ", "").split(",") if part)
    except ValueError:
        return f"Extra hidden layers must be whole numbers separated by commas, like `64, 32`; got `{extra}`."
    return (int(units), *more)


def schedule_ui(setup: SharedSetup) -> tuple[int, float | None, bool]:
    """Epochs, the stop-loss threshold (or None) and normalisation."""
    config, hidden, locked = setup.config, setup.hidden, setup.locked
    epochs = config.epochs if "epochs" in hidden else _epochs_ui("epochs" in locked)
    stop_loss = config.stop_loss if "stop" in hidden else _stop_loss_ui("stop" in locked)
    normalize = config.normalize if "norm" in hidden else _normalize_ui("norm" in locked)
    return epochs, stop_loss, normalize


def _epochs_ui(locked: bool) -> int:
    return st.slider(
        "Epochs",
        1,
        MAX_EPOCHS_SHOWN,
        key="train_epochs",
        disabled=locked,
        help="Passes over all training images. Watch the held-out curve: after ~10 epochs it flattens while "
        "training keeps improving — overfitting (try 5 vs 30).",
    )


def _normalize_ui(locked: bool) -> bool:
    return st.toggle(
        "Normalise pixels (÷255)",
        key="train_normalize",
        disabled=locked,
        help="Scale pixels from 0–255 to 0–1. Without it the first updates are huge and the loss starts far higher.",
    )


def _stop_loss_ui(locked: bool) -> float | None:
    stop_on = st.checkbox(
        "Stop when loss falls below a threshold",
        key="train_stop_on",
        disabled=locked,
        help="A Keras callback checks the training loss after each epoch and ends training once it is low enough.",
    )
    if not stop_on:
        return None
    return st.number_input(
        "Loss threshold", *STOP_RANGE, step=0.01, format="%.2f", key="train_stop_loss", disabled=locked
    )


def advanced_ui(setup: SharedSetup) -> dict[str, object]:
    if "advanced" in setup.hidden:
        return _advanced_settings(setup.config)
    locked = "advanced" in setup.locked
    with st.expander("Advanced"):
        activation = st.selectbox(
            "Activation", ACTIVATIONS, key="train_activation", disabled=locked, help="relu is the course's."
        )
        optimizer = st.selectbox(
            "Optimizer", OPTIMIZERS, key="train_optimizer", disabled=locked, help="Adam adapts each weight's step."
        )
        learning_rate = st.number_input(
            "Learning rate",
            *LR_RANGE,
            format="%.5f",
            key=f"train_lr_{optimizer}",
            disabled=locked,
            help="Step size. Too high and the loss jumps about; too low and it crawls.",
        )
        batch_size = st.select_slider(
            "Batch size", BATCH_SIZES, key="train_batch", disabled=locked, help="Images per weight update (Keras: 32)."
        )
        seed = st.number_input("Seed", 0, 2**31 - 1, key="train_seed", disabled=locked, help="Same seed, same curves.")
        size = st.selectbox(
            "Training images", list(TRAIN_SIZES), key="train_size", disabled=locked, help="Fewer images train faster."
        )
        holdout = st.radio(
            "Scored after each epoch",
            list(HOLDOUT_LABELS),
            format_func=HOLDOUT_LABELS.__getitem__,
            key="train_holdout",
            disabled=locked,
            help="Data the model never trains on, to show how it does on unseen images.",
        )
    return {
        "activation": activation,
        "optimizer": optimizer,
        "learning_rate": None if learning_rate == DEFAULT_LEARNING_RATES[optimizer] else learning_rate,
        "batch_size": batch_size,
        "seed": int(seed),
        "train_samples": TRAIN_SIZES[size],
        "holdout": holdout,
    }


def _advanced_settings(config: TrainConfig) -> dict[str, object]:
    names = ("activation", "optimizer", "learning_rate", "batch_size", "seed", "train_samples", "holdout")
    return {name: getattr(config, name) for name in names}


def train_controls() -> TrainConfig | str:
    """Every control, set from the page address; returns the config, or a message saying what to fix."""
    notice = st.empty()  # the link's notes, once it is known whether they still apply
    params = _address_params()
    setup, fresh = _load_setup(params)
    if setup.hidden:
        st.caption("Some settings are fixed by your instructor.")
    units = hidden_units_ui(setup)
    epochs, stop_loss, normalize = schedule_ui(setup)
    advanced = advanced_ui(setup)
    config = _config(units, epochs, stop_loss, normalize, advanced)
    if isinstance(config, TrainConfig):
        if _publish(config, params) and not fresh:  # the learner changed a setting: the notes are old news
            st.session_state.pop(NOTES_KEY, None)
        _share_caption(config, setup)
    if notes := st.session_state.get(NOTES_KEY):
        notice.warning("Some settings in this link were not used:\n" + "\n".join(f"- {note}" for note in notes))
    return config


def _config(
    units: tuple[int, ...] | str, epochs: int, stop_loss: float | None, normalize: bool, advanced: dict[str, object]
) -> TrainConfig | str:
    if isinstance(units, str):
        return units
    try:
        return TrainConfig(hidden_units=units, epochs=epochs, stop_loss=stop_loss, normalize=normalize, **advanced)
    except ConfigError as exc:
        return str(exc)


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


def _fit_to_widgets(setup: SharedSetup) -> SharedSetup:
    """Values a shown widget cannot take fall back to the defaults, each with a note."""
    config, notes = setup.config, list(setup.notes)
    for control, field, fits, why in WIDGET_LIMITS:
        value = getattr(config, field)
        if control not in setup.hidden and not fits(value):
            config = replace(config, **{field: getattr(TrainConfig(), field)})
            notes.append(f"`{share.PARAM_OF[field]}={share.format_value(value)}`: {why}; using the default.")
    return replace(setup, config=config, notes=tuple(notes))


def _widget_state(config: TrainConfig) -> dict[str, object]:
    """Each control's session-state value that shows ``config``."""
    first, *more = config.hidden_units
    size = next(label for label, samples in TRAIN_SIZES.items() if samples == config.train_samples)
    rates = {f"train_lr_{name}": rate for name, rate in DEFAULT_LEARNING_RATES.items()}
    return rates | {
        f"train_lr_{config.optimizer}": config.effective_learning_rate,
        "train_units": first if first in UNIT_PRESETS else CUSTOM,
        "train_custom_units": first,
        "train_extra_layers": ", ".join(map(str, more)),
        "train_epochs": config.epochs,
        "train_stop_on": config.stop_loss is not None,
        "train_stop_loss": config.stop_loss or 0.25,
        "train_normalize": config.normalize,
        "train_activation": config.activation,
        "train_optimizer": config.optimizer,
        "train_batch": config.batch_size,
        "train_seed": config.seed,
        "train_size": size,
        "train_holdout": config.holdout,
    }


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
