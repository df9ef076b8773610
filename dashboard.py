"""fmnist-lab entry page: Fashion-MNIST in brief (the pages come with the dashboard issue)."""

import streamlit as st

st.set_page_config(page_title="fmnist-lab", page_icon="👕", layout="wide")
st.title("fmnist-lab")
st.write("Train the classic first vision network on Fashion-MNIST. Use `python -m fmnist_lab train` meanwhile.")
