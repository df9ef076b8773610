"""What a trained run's numbers mean: metrics, fairness, the network's insides, comparisons and sweeps.

Pure NumPy and pandas over stored arrays; no TensorFlow, no training, no Streamlit.
"""
