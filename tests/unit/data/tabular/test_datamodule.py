"""The tabular data module: out of core or in memory, the same tables; cached entries are memory-mapped."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from framework.data.formats.criteo import write_criteo
from framework.data.synthetic.click_log import generate
from framework.data.tabular.datamodule import TabularDataModule
from framework.errors import ConfigError


@pytest.fixture(scope="module")
def criteo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_criteo(generate(n_rows=400, seed=2), tmp_path_factory.mktemp("criteo") / "train.txt")


def dataset(path: Path | None = None, **keys) -> DictConfig:
    source = {"_target_": "framework.data.formats.criteo.read_criteo", "name": "criteo", "path": str(path)}
    if path is None:
        source = {"_target_": "framework.data.synthetic.click_log.generate", "name": "synthetic", "n_rows": 400}
    features = {"min_count": 2, "hash_buckets": None, "numeric_transform": "log1p", "standardize": True}
    common = {"max_rows": None, "split": [0.8, 0.1, 0.1], "batch_size": 64, "eval_batch_size": 128, "cache": True}
    return OmegaConf.create({**source, **common, "features": {**features, "missing_indicators": False}, **keys})


def mapped_files() -> set[str]:
    """Files this process has memory-mapped (Linux)."""
    return {line.split(maxsplit=5)[-1].strip() for line in Path("/proc/self/maps").read_text().splitlines()}


def assert_same_tables(a: TabularDataModule, b: TabularDataModule) -> None:
    assert a.spec == b.spec and a.info["rows"] == b.info["rows"]
    for split, table in a.tables.items():
        for name, tensor in table.tensors.items():
            torch.testing.assert_close(tensor, b.tables[split].tensors[name], rtol=1e-6, atol=1e-6)


def test_out_of_core_gives_the_in_memory_tables_and_caches_a_mapped_entry(criteo_file: Path, tmp_path: Path) -> None:
    memory = TabularDataModule(dataset(criteo_file, out_of_core=False, cache=False), tmp_path / "a", seed=0)
    memory.prepare()
    chunked = TabularDataModule(dataset(criteo_file, out_of_core=True, chunk_rows=50), tmp_path / "b", seed=0)
    chunked.prepare()
    assert "out_of_core" not in memory.info
    assert chunked.info["cache"] == "miss" and chunked.info["out_of_core"]["chunks"] == 8
    assert_same_tables(memory, chunked)
    entry = Path(chunked.info["cache_entry"])
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [entry.name]  # no temporary folder left
    if Path("/proc/self/maps").exists():
        assert str(entry / "train_categorical.npy") in mapped_files()  # written, then memory-mapped

    again = TabularDataModule(dataset(criteo_file, out_of_core=False, chunk_rows=7), tmp_path / "b", seed=0)
    again.prepare()  # neither knob is in the cache key: they do not change the arrays
    assert again.info["cache"] == "hit" and again.info["cache_entry"] == str(entry)
    assert_same_tables(chunked, again)
    # serving's copy of the encoder: the same ids either way, the numeric statistics to float rounding
    states = [memory.encoder_state, chunked.encoder_state, again.encoder_state]  # fit, written in chunks, read
    assert all(s is not None for s in states) and states[1] == states[2]
    for key in ("vocabularies", "dtypes", "buckets", "categorical", "numeric"):
        assert states[0][key] == states[1][key], key
    for column, (mean, std) in states[0]["stats"].items():
        assert states[1]["stats"][column] == pytest.approx([mean, std], rel=1e-9), column
    batch = next(iter(again.train_dataloader()))
    assert batch["categorical"].shape == (64, 26) and batch["numeric"].shape == (64, 13)


def test_a_cache_hit_maps_the_arrays_rather_than_reading_them(criteo_file: Path, tmp_path: Path) -> None:
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc/self/maps (Linux)")
    TabularDataModule(dataset(criteo_file, out_of_core=False), tmp_path, seed=0).prepare()
    hit = TabularDataModule(dataset(criteo_file, out_of_core=False), tmp_path, seed=0)
    hit.prepare()
    assert hit.info["cache"] == "hit"
    entry = Path(hit.info["cache_entry"])
    assert {str(entry / f"{s}_{p}.npy") for s in ("train", "test") for p in ("categorical", "label")} <= mapped_files()


def test_without_the_cache_the_arrays_live_in_a_folder_removed_with_the_module(
    criteo_file: Path, tmp_path: Path
) -> None:
    data = TabularDataModule(dataset(criteo_file, out_of_core=True, chunk_rows=100, cache=False), tmp_path, seed=0)
    data.prepare()
    assert data.info["cache_entry"] is None
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and (folders[0] / "arrays" / "meta.json").exists()
    del data
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_auto_reads_small_files_in_memory_and_non_files_cannot_go_out_of_core(
    criteo_file: Path, tmp_path: Path
) -> None:
    auto = TabularDataModule(dataset(criteo_file, out_of_core="auto"), tmp_path, seed=0)
    auto.prepare()
    assert "out_of_core" not in auto.info
    with pytest.raises(ConfigError, match=r"out_of_core=true.*not a delimited file"):
        TabularDataModule(dataset(None, out_of_core=True), tmp_path, seed=0).prepare()


def test_downsampled_training_gathers_rows_of_the_mapped_table(criteo_file: Path, tmp_path: Path) -> None:
    data = TabularDataModule(dataset(criteo_file, out_of_core=True, negative_rate=0.3), tmp_path, seed=0)
    data.prepare()
    assert data.train_rows is not None and len(data.train_rows) < data.info["rows"]["train"]
    labels = torch.cat([b["label"] for b in data.train_dataloader()])
    kept = data.tables["train"].tensors["label"][torch.from_numpy(data.train_rows)]
    assert len(labels) == len(kept) and labels.sum() == kept.sum()
