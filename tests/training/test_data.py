"""IDX parsing on files the tests write, damage reports, source order, the cache, normalisation."""

from __future__ import annotations

import gzip
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from fmnist_lab import config
from fmnist_lab.training import data
from fmnist_lab.training.data import DataError, DatasetNotFound
from tests.conftest import idx_bytes, make_dataset, write_idx_folder


@pytest.fixture(autouse=True)
def no_debian_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide the real data set so each test decides which sources exist, and give the test a data cache
    of its own (not the session's), so it sees only the entries it made."""
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian-data")
    monkeypatch.setenv("FMNIST_CACHE_DIR", str(tmp_path / "cache"))


def test_reads_back_what_was_written(idx_folder: Path, tiny_dataset: data.Dataset) -> None:
    loaded = data.read_folder(idx_folder, strict_counts=False)
    for key in data.FILES:
        np.testing.assert_array_equal(getattr(loaded, key), getattr(tiny_dataset, key))
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape == (600, 28, 28)


def test_uncompressed_files_are_read_too(tmp_path: Path, tiny_dataset: data.Dataset) -> None:
    folder = write_idx_folder(tmp_path / "raw", tiny_dataset, compress=False)
    np.testing.assert_array_equal(data.read_folder(folder, strict_counts=False).y_test, tiny_dataset.y_test)


def test_arrays_are_read_only(idx_folder: Path) -> None:
    loaded = data.read_folder(idx_folder, strict_counts=False)
    with pytest.raises(ValueError):
        loaded.x_train[0, 0, 0] = 1


def _corrupt(path: Path, raw: bytes) -> None:
    path.write_bytes(gzip.compress(raw))


LABELS = np.array([1, 2, 3], dtype=np.uint8)
IMAGES = np.zeros((3, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize(
    ("kind", "raw", "fault"),
    [
        ("labels", b"\x00\x00", "truncated"),
        ("labels", idx_bytes(LABELS)[:-1], "truncated"),
        ("labels", idx_bytes(LABELS) + b"\x00", "longer than its header"),
        ("labels", idx_bytes(IMAGES), "wrong magic number"),
        ("images", idx_bytes(LABELS), "wrong magic number"),
        ("labels", idx_bytes(np.array([1, 10], dtype=np.uint8)), "label 10 is out of range"),
        ("images", idx_bytes(np.zeros((2, 27, 28), dtype=np.uint8)), "expected 28×28"),
    ],
)
def test_damaged_files_are_named_with_their_fault(tmp_path: Path, kind: str, raw: bytes, fault: str) -> None:
    path = tmp_path / "file.gz"
    _corrupt(path, raw)
    with pytest.raises(DataError, match=fault) as caught:
        data.read_idx(path, kind)
    assert str(path) in str(caught.value)


def test_wrong_count_and_bad_gzip_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    _corrupt(path, idx_bytes(LABELS))
    with pytest.raises(DataError, match="holds 3 labels, expected 60,000"):
        data.read_idx(path, "labels", 60_000)
    path.write_bytes(gzip.compress(idx_bytes(LABELS))[:-8])  # cut off the gzip trailer
    with pytest.raises(DataError, match="damaged"):
        data.read_idx(path, "labels")
    with pytest.raises(DataError, match="missing"):
        data.read_idx(tmp_path / "absent.gz", "labels")


def test_a_folder_missing_one_file_names_it(idx_folder: Path) -> None:
    (idx_folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: file is missing"):
        data.read_folder(idx_folder, strict_counts=False)


def test_full_loader_insists_on_the_real_counts(idx_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMNIST_DATA_DIR", str(idx_folder))
    with pytest.raises(DataError, match="expected 60,000"):
        data.load_dataset()


def test_source_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_dataset: data.Dataset) -> None:
    keras_folder = write_idx_folder(tmp_path / "keras" / "datasets" / "fashion-mnist", tiny_dataset)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert data.find_source() == keras_folder
    debian = write_idx_folder(tmp_path / "debian", tiny_dataset)
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    assert data.find_source() == debian
    env_folder = write_idx_folder(tmp_path / "env", tiny_dataset)
    monkeypatch.setenv("FMNIST_DATA_DIR", str(env_folder))
    assert data.find_source() == env_folder


def test_no_source_and_no_download_tells_the_three_ways() -> None:
    with pytest.raises(DatasetNotFound) as caught:
        data.load_dataset()
    message = str(caught.value)
    for hint in ("apt-get install dataset-fashion-mnist", "FMNIST_DATA_DIR", "Keras downloads"):
        assert hint in message


def test_second_load_comes_from_the_cache(
    idx_folder: Path, monkeypatch: pytest.MonkeyPatch, tiny_dataset: data.Dataset
) -> None:
    monkeypatch.setenv("FMNIST_DATA_DIR", str(idx_folder))
    first = data.load_dataset(strict_counts=False)
    data._load_folder_cached.cache_clear()  # as a fresh process would be
    parses = []
    monkeypatch.setattr(data, "read_folder", lambda *a, **k: parses.append(a) or first)
    second = data.load_dataset(strict_counts=False)
    assert parses == []
    np.testing.assert_array_equal(second.x_train, tiny_dataset.x_train)


def test_cache_is_refreshed_when_a_source_file_changes(idx_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMNIST_DATA_DIR", str(idx_folder))
    data.load_dataset(strict_counts=False)
    changed = make_dataset(seed=5)
    time.sleep(0.01)
    write_idx_folder(idx_folder, changed)
    np.testing.assert_array_equal(data.load_dataset(strict_counts=False).y_test, changed.y_test)


def test_damaged_cache_is_ignored(
    idx_folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tiny_dataset: data.Dataset
) -> None:
    monkeypatch.setenv("FMNIST_DATA_DIR", str(idx_folder))
    data.load_dataset(strict_counts=False)
    data._load_folder_cached.cache_clear()
    (cache,) = data.paths.cache_dir().glob("fashion-mnist-*")
    (cache / "x_train.npy").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        loaded = data.load_dataset(strict_counts=False)
    np.testing.assert_array_equal(loaded.x_train, tiny_dataset.x_train)
    assert "damaged data cache" in caplog.text


def test_normalize_is_pure_and_scales_to_unit_range() -> None:
    images = np.array([[0, 51, 255]], dtype=np.uint8)
    scaled = data.normalize(images)
    np.testing.assert_allclose(scaled, [[0.0, 0.2, 1.0]])
    assert scaled.dtype == np.float32 and images.tolist() == [[0, 51, 255]]
    np.testing.assert_array_equal(data.prepare(images, normalized=False), images.astype(np.float32))


def test_class_names_in_standard_order() -> None:
    assert (
        config.CLASS_NAMES[0] == "T-shirt/top"
        and config.CLASS_NAMES[6] == "Shirt"
        and config.CLASS_NAMES[9] == "Ankle boot"
    )
    assert len(config.CLASS_NAMES) == 10
