"""fmnist-lab: train the classic first vision network on Fashion-MNIST and see what each choice does.

The core (config, data, model, train, runs) never imports Streamlit. Importing the
package is cheap: TensorFlow loads only when ``train_run`` or ``build_model`` is used.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter off the console

from fmnist_lab.config import (  # noqa: E402
    CLASS_NAMES,  # noqa: E402
    ConfigError,
    TrainConfig,
)
from fmnist_lab.store.runs import InvalidRunId, Run, RunBusy, RunNotFound, RunStore  # noqa: E402
from fmnist_lab.training.data import DataError, Dataset, DatasetNotFound, load_dataset, normalize  # noqa: E402

__all__ = [
    "CLASS_NAMES",
    "ConfigError",
    "DataError",
    "Dataset",
    "DatasetNotFound",
    "InvalidRunId",
    "Run",
    "RunBusy",
    "RunNotFound",
    "RunStore",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "load_dataset",
    "normalize",
    "train_run",
]

_LAZY = {
    "train_run": "training.train",
    "TrainResult": "training.train",
    "build_model": "training.model",
}  # these import TensorFlow


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
