"""Tests of fmnist_lab.store."""
