"""The run store: one folder per run, files written whole (temp name, then rename) and read back checked.

Imports nothing above it but ``fmnist_lab.config``: every other layer reads and writes runs through it.
"""
