"""Tests of fmnist_lab.charts."""
