"""fmnist-lab's entry point: it serves the page the address names (the list is ``fmnist_lab.ui.navigation``).

Start it with ``./scripts/start.sh`` (or ``streamlit run app.py``, which serves it and starts the warm
workers); ``streamlit run dashboard.py`` serves the same pages without them. Imports no TensorFlow,
so the home page opens fast on a fresh server.
"""

from fmnist_lab.ui.navigation import serve

serve()
