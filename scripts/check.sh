#!/usr/bin/env bash
# Set up (first time only), then lint, check formatting and types, and run every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # the package, as configured in pyproject.toml
.venv/bin/python -m pytest "$@"
