#!/usr/bin/env bash
# Set up (first time only) and start the lab at http://localhost:8501. Extra arguments go to streamlit.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/streamlit run app.py "$@"
