"""Tests of the pages (AppTest)."""
