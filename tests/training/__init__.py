"""Tests of fmnist_lab.training."""
