"""Training one run: the data set, the Keras model, its callbacks, the bias settings and the end-of-run scores.

Imports TensorFlow only where a model is built or trained; knows nothing of queues or pages.
"""
