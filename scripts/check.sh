#!/usr/bin/env bash
# Set up (first time only), then lint, check formatting and types, and run every test. Extra arguments go to pytest.
# The Ray cluster tests run apart, inside a private network namespace (only loopback), so the
# cluster they start cannot be reached from, or reach, the machine's network.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # the package, as configured in pyproject.toml
.venv/bin/lint-imports --no-cache  # the layers, as configured in pyproject.toml
# Two xdist workers at most (fewer on a 1-core machine); --dist loadgroup keeps each group of XDIST_GROUPS
# (tests/conftest.py) on one worker: the browser tests share one server, the corruption corpus is built once.
.venv/bin/python -m pytest -m "not ray" -n auto --maxprocesses 2 --dist loadgroup --durations=15 "$@"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest -m ray tests/execution/test_ray_executor.py'
    if pgrep -x raylet >/dev/null; then
        echo "error: Ray processes left running" >&2
        exit 1
    fi
elif [ "${FMNIST_REQUIRE_RAY:-0}" = 1 ]; then
    echo "error: the Ray cluster tests need root, unshare and ip (FMNIST_REQUIRE_RAY=1)" >&2
    exit 1
else
    echo "skipped: the Ray cluster tests (tests/execution/test_ray_executor.py) need root, unshare and ip for a private network namespace"
fi
