"""End-to-end tests: the real server, driven by a real browser."""
