"""Cached figures for the home page (the data set never changes while the server runs)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from fmnist_lab.charts.home import class_balance, pixel_histogram, sample_grid
from fmnist_lab.training.data import Dataset


@st.cache_resource(show_spinner=False)
def home_figures(_dataset: Dataset, source: str) -> tuple[bytes, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sample grid (PNG), class balance, pixel histogram raw and ÷255 (Vega-Lite specs); ``source``
    keys the cache."""
    return (
        sample_grid(_dataset.x_train, _dataset.y_train),
        class_balance(_dataset.y_train, _dataset.y_test),
        pixel_histogram(_dataset.x_test),
        pixel_histogram(_dataset.x_test, divide_by=255),
    )
