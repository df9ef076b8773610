"""Tests of fmnist_lab.ui."""
