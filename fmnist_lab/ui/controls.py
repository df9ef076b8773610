"""The Train page's controls, grouped into small functions that return plain values or a TrainConfig."""

from __future__ import annotations

import streamlit as st

from ..config import ACTIVATIONS, DEFAULT_LEARNING_RATES, OPTIMIZERS, ConfigError, TrainConfig

UNIT_PRESETS = (32, 64, 128, 256, 512, 1024)
CUSTOM = "custom…"
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512)
TRAIN_SIZES = {"all 60,000": None, "30,000": 30_000, "10,000": 10_000, "3,000 (quick try)": 3_000}
HOLDOUT_LABELS = {"test": "the 10,000 test images", "split": "10% of the training images", "none": "nothing"}


def hidden_units_ui() -> tuple[int, ...] | str:
    """The layers' sizes, or an error message for a bad extra-layers entry."""
    preset = st.selectbox(
        "Hidden units",
        [*UNIT_PRESETS, CUSTOM],
        index=UNIT_PRESETS.index(128),
        key="train_units",
        help="Neurons in the hidden layer. More units learn finer patterns but take longer; 128 vs 1024 is the "
        "classic comparison: 1024 gains about a point of accuracy for eight times the parameters.",
    )
    units = preset
    if preset == CUSTOM:
        units = st.number_input("Units", 1, 4096, 128, key="train_custom_units", help="Any size from 1 to 4096.")
    extra = st.text_input(
        "Extra hidden layers",
        "",
        key="train_extra_layers",
        placeholder="e.g. 64, 32",
        help="Optional: sizes of more hidden layers after the first, comma-separated. Deeper is not always better.",
    )
    try:
        more = tuple(int(part) for part in extra.replace(" ", "").split(",") if part)
    except ValueError:
        return f"Extra hidden layers must be whole numbers separated by commas, like `64, 32`; got `{extra}`."
    return (int(units), *more)


def schedule_ui() -> tuple[int, float | None, bool]:
    """Epochs, the stop-loss threshold (or None) and normalisation."""
    epochs = st.slider(
        "Epochs",
        1,
        50,
        5,
        key="train_epochs",
        help="Passes over all training images. Watch the held-out curve: after ~10 epochs it flattens while "
        "training keeps improving — overfitting (try 5 vs 30).",
    )
    stop_on = st.checkbox(
        "Stop when loss falls below a threshold",
        key="train_stop_on",
        help="A Keras callback checks the training loss after each epoch and ends training once it is low enough.",
    )
    stop_loss = None
    if stop_on:
        stop_loss = st.number_input("Loss threshold", 0.01, 5.0, 0.25, 0.01, key="train_stop_loss", format="%.2f")
    normalize = st.toggle(
        "Normalise pixels (÷255)",
        True,
        key="train_normalize",
        help="Scale pixels from 0–255 to 0–1. Without it the first updates are huge and the loss starts far higher.",
    )
    return epochs, stop_loss, normalize


def advanced_ui() -> dict[str, object]:
    with st.expander("Advanced"):
        activation = st.selectbox("Activation", ACTIVATIONS, key="train_activation", help="relu is the course's.")
        optimizer = st.selectbox(
            "Optimizer", OPTIMIZERS, key="train_optimizer", help="Adam adapts each weight's step; SGD is plain."
        )
        learning_rate = st.number_input(
            "Learning rate",
            0.00001,
            1.0,
            DEFAULT_LEARNING_RATES[optimizer],
            format="%.5f",
            key=f"train_lr_{optimizer}",
            help="Step size. Too high and the loss jumps about; too low and it crawls.",
        )
        batch_size = st.select_slider(
            "Batch size", BATCH_SIZES, 32, key="train_batch", help="Images per weight update (Keras' default: 32)."
        )
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed", help="Same seed and settings, same curves.")
        size = st.selectbox("Training images", list(TRAIN_SIZES), key="train_size", help="Fewer images train faster.")
        holdout = st.radio(
            "Scored after each epoch",
            list(HOLDOUT_LABELS),
            format_func=HOLDOUT_LABELS.__getitem__,
            key="train_holdout",
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


def train_controls() -> TrainConfig | str:
    """Every control; returns the config, or a message saying what to fix."""
    units = hidden_units_ui()
    epochs, stop_loss, normalize = schedule_ui()
    advanced = advanced_ui()
    if isinstance(units, str):
        return units
    try:
        return TrainConfig(hidden_units=units, epochs=epochs, stop_loss=stop_loss, normalize=normalize, **advanced)
    except ConfigError as exc:
        return str(exc)
