"""Tests of fmnist_lab.teaching."""
