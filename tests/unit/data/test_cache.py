"""The shared cache of encoded datasets: what changes the key, and atomic, complete entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from framework.data import cache

SOURCE = "framework.data.synthetic.click_log.generate"


def _cfg(**extra):
    return OmegaConf.create({"_target_": SOURCE, "name": "toy", "rows": 10, "batch_size": 8, "cache": True, **extra})


def test_key_ignores_batch_sizes_but_not_data_settings_code_or_extra() -> None:
    key = cache.cache_key(_cfg(), [])
    assert cache.cache_key(_cfg(batch_size=64, eval_batch_size=3, cache=False), []) == key
    assert cache.cache_key(_cfg(rows=11), []) != key
    assert cache.cache_key(_cfg(), ["framework.data.cache"]) != key  # more code in the key
    assert cache.cache_key(_cfg(), [], {"seed": 1}) != cache.cache_key(_cfg(), [], {"seed": 2})


def test_key_follows_the_source_file_and_folder(tmp_path: Path) -> None:
    data = tmp_path / "train.txt"
    data.write_text("a\n")
    key = cache.cache_key(_cfg(path=str(data)), [])
    data.write_text("a\nb\n")  # size changes
    assert cache.cache_key(_cfg(path=str(data)), []) != key
    folder_key = cache.cache_key(_cfg(path=str(tmp_path)), [])
    (tmp_path / "more.txt").write_text("c")
    assert cache.cache_key(_cfg(path=str(tmp_path)), []) != folder_key
    assert cache.cache_key(_cfg(path=str(tmp_path / "missing")), [])  # a missing file: the reader complains


def test_store_then_load_round_trips_and_leaves_no_temporary_folder(tmp_path: Path) -> None:
    entry = cache.entry_path(tmp_path, _cfg(), "abc")
    assert entry.name == "toy-abc" and not cache.is_stored(entry)
    arrays = {"x": np.arange(5, dtype=np.int32), "y": np.ones((2, 3), np.float32)}
    cache.store(entry, arrays, {"spec": {"n": 5}})
    assert cache.is_stored(entry)
    loaded, meta = cache.load(entry, ["x", "y"])
    assert meta == {"spec": {"n": 5}}
    for name, array in arrays.items():
        assert np.array_equal(loaded[name], array) and loaded[name].dtype == array.dtype
    assert [p.name for p in tmp_path.iterdir()] == ["toy-abc"]


def test_a_lost_race_keeps_the_first_entry(tmp_path: Path) -> None:
    entry = cache.entry_path(tmp_path, _cfg(), "abc")
    cache.store(entry, {"x": np.zeros(2)}, {"first": True})
    cache.store(entry, {"x": np.ones(2)}, {"first": False})  # another process got there first: no error
    loaded, meta = cache.load(entry, ["x"])
    assert meta == {"first": True} and loaded["x"].sum() == 0


def test_how_a_file_is_encoded_is_not_part_of_the_key() -> None:
    key = cache.cache_key(_cfg(), [])
    assert cache.cache_key(_cfg(out_of_core=True, chunk_rows=7), []) == key  # same arrays either way
    assert cache.cache_key(_cfg(negative_rate=0.1), []) == key  # rows are drawn after loading


def test_store_from_writes_in_place_and_cleans_up_a_failed_write(tmp_path: Path) -> None:
    entry = cache.entry_path(tmp_path, _cfg(), "abc")

    def fail(folder: Path) -> dict:
        np.save(folder / "x.npy", np.zeros(3))
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        cache.store_from(entry, fail)
    assert list(tmp_path.iterdir()) == []

    def write(folder: Path) -> dict:
        np.save(folder / "x.npy", np.arange(3))
        np.save(folder / "empty.npy", np.zeros((3, 0), np.float32))
        return {"n": 3}

    cache.store_from(entry, write)
    arrays, meta = cache.load(entry, ["x", "empty"], mmap=True)
    assert meta == {"n": 3} and isinstance(arrays["x"], np.memmap) and arrays["x"].tolist() == [0, 1, 2]
    assert arrays["empty"].shape == (3, 0)  # zero bytes cannot be mapped: read instead
