"""Tests of fmnist_lab.analysis."""
