"""Inside: what each neuron looks for, one image's path through the network, the hidden-space map."""

import pandas as pd
import streamlit as st

from fmnist_lab import ui
from fmnist_lab.analysis import inside
from fmnist_lab.charts.inside import hidden_map, layer_path, neuron_class_bars, weight_matrix
from fmnist_lab.config import CLASS_NAMES
from fmnist_lab.store.runs import RunNotFound
from fmnist_lab.ui import analysis, inside_ui

runs, current = ui.start_page("Inside the network")
dataset = ui.dataset_or_stop()
run = analysis.run_or_stop(runs, current)
try:
    weights = analysis.run_weights(runs, run.id)
except RunNotFound as exc:
    st.info(f"{exc} Train a new run to look inside it.")
    st.stop()
probabilities, labels = analysis.run_predictions(runs, run.id)
activation, units = run.config.activation, weights[0].shape[1]
st.caption(f"{ui.plain(run.label())} · computed in NumPy from the stored weights")
tab_names = ["What each neuron looks for", "One image's path", "Hidden-space map", "Deeper layers"]
# Only the open tab runs (on_change="rerun"): the map's PCA waits until someone looks at it
neurons, path_tab, map_tab, deeper = st.tabs(tab_names, key="inside_tab", on_change="rerun")

if neurons.open:
    with neurons:
        epoch = inside_ui.neuron_pictures(runs, run, dataset.x_test)  # Play reruns only the pictures
        layer = inside_ui.first_layer(runs, run, epoch, dataset.x_test)
        kept = layer.kernel.shape[1]
        first = min(st.session_state.get(inside_ui.FIRST_SHOWN, 0), kept - 1)
        j = int(st.number_input("Neuron", 0, kept - 1, first, key="inside_neuron"))
        left, right = st.columns([2, 3])
        left.metric("Bias", f"{layer.bias[j]:.3f}")
        left.code(inside.formula(layer.kernel, layer.bias, j, activation=activation), language=None, wrap_lines=True)
        right.plotly_chart(neuron_class_bars(layer.means[j], f"Neuron {j}: mean activation per class"))
        right.caption(
            "What to look for: the classes that make this neuron fire; even bars mean it tells them apart poorly."
        )
        top = inside.top_images(layer.activations[:, j], inside_ui.TOP_IMAGES)
        st.markdown(f"**The {len(top)} test images that excite neuron {j} most**")
        captions = [f"#{i} · {CLASS_NAMES[labels[i]]} · a={layer.activations[i, j]:.2f}" for i in top]
        analysis.gallery(dataset.x_test[top], captions)

if path_tab.open:
    with path_tab:
        index = int(st.number_input("Test image index", 0, len(labels) - 1, 0, key="inside_image"))
        image = inside_ui.test_inputs(run, dataset.x_test[index : index + 1], 1)[0]
        path = inside.trace(weights, activation, image)
        st.plotly_chart(layer_path(path), key="inside_path")
        st.markdown(f"True class: **{CLASS_NAMES[labels[index]]}**. " + inside_ui.contribution_sentence(path))
        st.caption(
            "What to look for: grey dots are neurons relu set to exactly 0 (it throws negative sums away); "
            "the tallest logit becomes the largest softmax bar."
        )

if map_tab.open:
    with map_tab:
        chosen, coords, explained = inside_ui.hidden_map(runs, run, dataset.x_test)
        predicted = probabilities[chosen].argmax(axis=1)
        st.plotly_chart(hidden_map(coords, labels[chosen], predicted, chosen, explained), key="inside_map")
        st.caption(
            f"What to look for: {len(chosen):,} test images (a fixed random sample, for speed) placed by the last "
            "hidden layer's activations; shirts, T-shirts, pullovers and coats overlap where the confusion "
            "matrix mixes them."
        )

if deeper.open:
    with deeper:
        hidden = len(weights) // 2 - 1
        if hidden < 2:
            st.info("This run has one hidden layer; train one with more layers to see how they connect.")
        else:
            means = inside_ui.layer_means(runs, run, dataset.x_test)
            number = int(st.selectbox("Hidden layer", range(2, hidden + 1), key="inside_layer"))
            kernel, _ = inside.layer_weights(weights, number)
            st.plotly_chart(weight_matrix(kernel, title=f"hidden_{number - 1} → hidden_{number}"))
            st.caption(
                "What to look for: a column is one neuron's weights from the layer before; strong rows feed many."
            )
            st.dataframe(pd.DataFrame(means[number - 1], columns=list(CLASS_NAMES)).round(3))
            st.caption("Mean activation of each neuron (rows) per true class (columns) on the test set.")
