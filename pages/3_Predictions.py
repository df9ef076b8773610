"""Predictions: the softmax output for test images, a softmax playground, and your own picture."""

import numpy as np
import streamlit as st

from fmnist_lab import charts, images, ui
from fmnist_lab.data import CLASS_NAMES
from fmnist_lab.runs import RunNotFound
from fmnist_lab.ui import analysis, predictions_ui

runs, current = ui.start_page("Predictions", "🔮", "What the model outputs")
dataset = ui.dataset_or_stop()
browse, playground, own = st.tabs(["Test images", "Softmax playground", "Your own picture"])

with playground:
    predictions_ui.softmax_playground()

with browse:
    run = analysis.run_or_stop(runs, current)
    epoch = analysis.epoch_ui(runs, run, "pred")
    probabilities, labels = analysis.run_predictions(runs, run.id, epoch)
    index = predictions_ui.choose_test_image(labels, probabilities)
    if index is not None:
        guess = int(probabilities[index].argmax())
        picture, bars = st.columns([1, 3])
        picture.image(analysis.enlarge(dataset.x_test[index], 6), caption=f"test image #{index}")
        picture.caption(f"Outputs {analysis.epoch_note(epoch)}: watch the bars sharpen as training goes on.")
        picture.markdown(f"True: **{CLASS_NAMES[labels[index]]}**  \nPredicted: **{CLASS_NAMES[guess]}**")
        bars.plotly_chart(charts.softmax_bars(probabilities[index], int(labels[index])), key="pred_bars")
        output = np.array2string(probabilities[index], precision=3, suppress_small=True)
        st.code(f"model.predict(test_images)[{index}]\n{output}", language="python")

with own:
    upload = st.file_uploader(
        "One clothing item, PNG or JPEG, up to 2 MB", type=["png", "jpg", "jpeg"], key="pred_upload"
    )
    if upload is not None:
        try:
            prepared = images.prepare_upload(upload.getvalue())
        except images.ImageError as exc:
            st.error(f"**That file cannot be used.** {exc}")
        else:
            picture, bars = st.columns([1, 3])
            picture.image(analysis.enlarge(prepared.image, 6), caption="what the model sees (28×28)")
            if prepared.inverted:
                picture.caption("Inverted: the background was light; Fashion-MNIST garments are light on black.")
            try:
                bars.plotly_chart(charts.softmax_bars(analysis.predict_one(runs, run, prepared.image)), key="own_bars")
            except RunNotFound as exc:
                bars.warning(f"{exc} Train a new run to try your own picture.")
