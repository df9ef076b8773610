"""The README's "Train from the command line" table, measured: the three classic commands, trained now.

    .venv/bin/python bench/readme_table.py            # prints the Markdown table and the epoch-1 losses

Each command runs as a learner would type it (``python -m fmnist_lab train …``, 5 epochs, seed 0,
the full data set) in a scratch lab home; the table is printed from the runs' own JSON lines and
history files, so the README quotes what the lab gives today rather than what it once gave.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--hidden-units", "128"], ["--hidden-units", "1024"], ["--hidden-units", "128", "--no-normalize"])


def train(home: Path, options: list[str]) -> dict:
    """One run through the CLI; its summary line plus its first epoch's training loss."""
    argv = [sys.executable, "-m", "fmnist_lab", "train", *options, "--epochs", "5", "--seed", "0"]
    done = subprocess.run(
        argv, cwd=ROOT, env=os.environ | {"FMNIST_LAB_HOME": str(home)}, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(options)} failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    history = json.loads((home / "runs" / result["run_id"] / "history.json").read_text())
    return result | {"first_loss": history[0]["loss"]}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fmnist-readme-") as folder:
        rows = [(options, train(Path(folder), options)) for options in COMMANDS]
    print("| command | test accuracy | test loss | epoch-1 training loss |")
    print("|---|---|---|---|")
    for options, r in rows:
        print(f"| `{' '.join(options)}` | {r['test_accuracy']:.4f} | {r['test_loss']:.3f} | {r['first_loss']:.2f} |")


if __name__ == "__main__":
    main()
