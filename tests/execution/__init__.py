"""Tests of fmnist_lab.execution."""
