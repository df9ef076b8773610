"""Fashion-MNIST from its four original IDX files, checked, cached and ready to train on.

Sources, first that has the files wins:
1. ``$FMNIST_DATA_DIR``;
2. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``);
3. the Keras cache, ``$KERAS_HOME/datasets/fashion-mnist`` (default ``~/.keras``);
4. Keras' own download, ``keras.datasets.fashion_mnist.load_data()`` (needs internet;
   off when ``FMNIST_DOWNLOAD=0``).

The first parse takes about a second; the arrays are then cached as ``.npy`` files
in the lab's cache folder, so later loads read them back in a few milliseconds.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from fmnist_lab.environment import environment
from fmnist_lab.store import atomic, paths

log = logging.getLogger(__name__)

FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
EXPECTED_COUNT = {"x_train": 60_000, "y_train": 60_000, "x_test": 10_000, "y_test": 10_000}
IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801  # unsigned bytes, 3 and 1 dimensions
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CACHE_VERSION = "1"

HOW_TO_GET = (
    "Fashion-MNIST was not found. Get it in one of three ways:\n"
    "  1. On Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
    "  2. Put the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
    "     t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a folder and\n"
    "     set FMNIST_DATA_DIR to it.\n"
    "  3. With internet access, Keras downloads them on first use\n"
    "     (into ~/.keras/datasets/fashion-mnist)."
)


class DataError(RuntimeError):
    """The data set is missing, or one of its files is damaged."""


class DatasetNotFound(DataError):
    """No source had the files; the message says how to get them."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """The four arrays, as the files hold them."""

    x_train: np.ndarray  # (60000, 28, 28) uint8, 0 = background
    y_train: np.ndarray  # (60000,) uint8, 0-9
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    source: str  # where the files came from

    def __post_init__(self) -> None:
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            array.setflags(write=False)  # shared by every caller: nobody may change it


def normalize(images: np.ndarray) -> np.ndarray:
    """Scale 0-255 pixels to [0, 1] floats (the course's ``images / 255.0``)."""
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)


def prepare(images: np.ndarray, normalized: bool) -> np.ndarray:
    """The model's input: float32 pixels, divided by 255 only if ``normalized``."""
    return normalize(images) if normalized else np.asarray(images, dtype=np.float32)


def read_idx(path: Path, kind: str, count: int | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) and check it; ``kind`` is "images" or "labels"."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file is missing.") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read or decompressed ({exc}); the file is damaged.") from None
    magic, dims = (IMAGE_MAGIC, 3) if kind == "images" else (LABEL_MAGIC, 1)
    header = 4 + 4 * dims
    found = int.from_bytes(raw[:4], "big")
    if len(raw) >= 4 and found != magic:
        raise DataError(f"{path}: wrong magic number {found:#010x}, expected {magic:#010x} for IDX {kind}.")
    if len(raw) < header:
        raise DataError(f"{path}: file is truncated ({len(raw)} bytes, shorter than its header).")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    if kind == "images" and shape[1:] != (28, 28):
        raise DataError(f"{path}: images are {shape[1]}×{shape[2]}, expected 28×28.")
    if count is not None and shape[0] != count:
        raise DataError(f"{path}: holds {shape[0]:,} {kind}, expected {count:,}.")
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        fault = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(f"{path}: file is {fault} ({len(raw):,} bytes, expected {expected:,}).")
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    if kind == "labels" and array.size and int(array.max()) > 9:
        raise DataError(f"{path}: label {int(array.max())} is out of range; labels are 0 to 9.")
    return array


def find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def read_folder(folder: Path, strict_counts: bool = True) -> Dataset:
    """Read the four files in ``folder``; ``strict_counts`` demands 60,000/10,000 images."""
    arrays = {}
    for key, stem in FILES.items():
        path = find_file(folder, stem) or folder / f"{stem}.gz"
        kind = "images" if key.startswith("x") else "labels"
        arrays[key] = read_idx(path, kind, EXPECTED_COUNT[key] if strict_counts else None)
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise DataError(f"{folder}: the {split} images and labels differ in number.")
    return Dataset(**arrays, source=str(folder))


def candidate_folders() -> list[Path]:
    """The local places searched, in order."""
    folders = []
    if configured := environment().data_dir:
        folders.append(Path(configured).expanduser())
    folders.append(DEBIAN_DIR)
    keras_home = Path(os.environ.get("KERAS_HOME", "") or Path.home() / ".keras").expanduser()
    folders.append(keras_home / "datasets" / "fashion-mnist")
    return folders


def find_source() -> Path | None:
    """The first folder holding any of the files (damage is reported by the reader)."""
    for folder in candidate_folders():
        if any(find_file(folder, stem) for stem in FILES.values()):
            return folder
    return None


def download_allowed() -> bool:
    return environment().download


def load_dataset(strict_counts: bool = True) -> Dataset:
    """Fashion-MNIST from the first source that has it; raises ``DataError`` otherwise."""
    folder = find_source()
    if folder is not None:
        return _load_folder_cached(folder, strict_counts, _fingerprint(folder))
    if not download_allowed():
        raise DatasetNotFound(HOW_TO_GET)
    return _download()


@functools.lru_cache(maxsize=2)
def _load_folder_cached(folder: Path, strict_counts: bool, fingerprint: str) -> Dataset:
    cache = paths.cache_dir() / f"fashion-mnist-{fingerprint}"
    if (cache / "complete").is_file():
        try:
            arrays = {key: np.load(cache / f"{key}.npy", allow_pickle=False) for key in FILES}
            return Dataset(**arrays, source=str(folder))
        except (OSError, ValueError) as exc:
            log.warning("ignoring damaged data cache %s: %s", cache, exc)
    dataset = read_folder(folder, strict_counts)
    _write_cache(cache, dataset)
    return dataset


def _save_npy(path: Path, array: np.ndarray) -> None:
    np.save(path, array)


def _write_cache(cache: Path, dataset: Dataset) -> None:
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for key in FILES:
            atomic.write_with(cache / f"{key}.npy", partial(_save_npy, array=getattr(dataset, key)), ".npy")
        atomic.write_text(cache / "complete", dataset.source + "\n")
    except OSError as exc:  # an unwritable home only costs speed
        log.warning("could not cache the data set in %s: %s", cache, exc)


def _fingerprint(folder: Path) -> str:
    """Changes whenever a source file is replaced, so the cache never goes stale."""
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for stem in FILES.values():
        path = find_file(folder, stem)
        if path is not None:
            stat = path.stat()
            digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _download() -> Dataset:
    try:
        from keras.datasets import fashion_mnist

        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    except Exception as exc:  # no internet, a proxy, a partial download...
        raise DatasetNotFound(f"{HOW_TO_GET}\n(The Keras download failed: {exc})") from None
    return Dataset(x_train, y_train, x_test, y_test, source="keras download")
