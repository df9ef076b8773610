"""Home: what Fashion-MNIST is, what it looks like, and what ÷255 changes. Imports no TensorFlow."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.ui.home import home_figures
from fmnist_lab.ui.navigation import TRAIN

ui.start_page("fmnist-lab: learn by training")
st.markdown(
    "Train the classic first computer-vision network — **Flatten(28×28) → Dense(N, relu) → Dense(10, softmax)** — "
    "on the real Fashion-MNIST, and see what each choice does: hidden units, epochs, a stop-when-loss-is-low "
    "callback and input normalisation."
)
dataset = ui.dataset_or_stop()

st.header("Fashion-MNIST in brief")
cols = st.columns(4)
cols[0].metric("Training images", f"{len(dataset.x_train):,}")
cols[1].metric("Test images", f"{len(dataset.x_test):,}")
cols[2].metric("Classes", 10)
cols[3].metric("Bytes per image", f"{dataset.x_train[0].size:,}", help="28 × 28 pixels, one byte (0–255) each")
st.markdown(
    "Zalando's article photos, shrunk to **28×28 grayscale**: 60,000 to learn from and 10,000 kept aside to test "
    "on, 6,000 and 1,000 of each of ten classes. It was made (2017) as a drop-in replacement for MNIST's "
    "handwritten digits, which became too easy — simple models pass 97% and convolutional nets 99.7% — "
    "and too unlike modern vision tasks. Here a shirt and a T-shirt can look almost alike, so choices matter."
)
grid, balance, raw, scaled = home_figures(dataset, dataset.source)
st.image(grid, caption="12 examples of each class, as the network sees them (28×28, enlarged)")
left, right = st.columns(2)
left.vega_lite_chart(balance, width="stretch", height=balance["height"])
right.vega_lite_chart(raw, width="stretch", height=raw["height"])
right.vega_lite_chart(scaled, width="stretch", height=scaled["height"])
right.caption(
    "Most pixels are background (0). Dividing by 255 keeps the shape and moves every value into 0–1, "
    "the range where the network's first weight updates are neither huge nor tiny."
)
st.page_link(TRAIN.path, label="Train a model now", icon=":material/model_training:")
