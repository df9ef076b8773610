"""Charts as pure functions: data in, a figure out (Plotly; Vega-Lite specs and a PNG on Home), no Streamlit.

One module per topic, imported from where it lives (``from fmnist_lab.charts.confusion import
confusion_heatmap``); the package re-exports nothing, so a caller's imports say which topic it draws.

- ``style``: colours (one per run, everywhere), font, margins; training dashed, held-out solid
- ``home``: the sample mosaic (PNG), class balance and pixel histogram (Vega-Lite)
- ``training``: loss and accuracy curves, live or finished
- ``confusion``: the clickable confusion heatmap, accuracy per class
- ``predictions``: softmax bars
- ``compare``: several runs' curves and per-class accuracy, two matrices' difference
- ``inside``: weight pictures, one image's path, the hidden-space map, weight matrices
- ``sweep``: a sweep's curves or heatmap
- ``fairness``: per-class metrics of several runs, reliability diagrams
"""
