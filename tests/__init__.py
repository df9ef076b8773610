"""Tests for fmnist_lab, one module per package module."""
