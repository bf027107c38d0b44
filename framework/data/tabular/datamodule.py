"""Tabular data for the ctr kind: source -> time-ordered split -> encoder fit on train -> cached arrays.

The encoded arrays are cached (`framework.data.cache`) under a key that also holds the encoding version
and polars' version, so a second run with the same data config skips reading and encoding entirely.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from framework.data import cache
from framework.data.batching import TensorTable, batch_loader
from framework.data.tabular.features import EncodedTable, FeatureSpec, TabularEncoder
from framework.data.tabular.table import RawTable, split_sizes
from framework.errors import DataError

ENCODING_VERSION = 1  # bump when encoding changes, to invalidate caches
SPLITS = ("train", "valid", "test")
PARTS = ("categorical", "numeric", "label")
_NOT_SOURCE_ARGS = {"_target_", "name", "split", "batch_size", "eval_batch_size", "features", "cache"}


class TabularDataModule(L.LightningDataModule):
    def __init__(self, cfg: DictConfig, cache_dir: str | Path, seed: int, pin_memory: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.cache_dir = Path(cache_dir).expanduser()
        self.seed = seed
        self.pin_memory = pin_memory
        self.spec: FeatureSpec | None = None
        self.tables: dict[str, TensorTable] = {}
        self.info: dict[str, Any] = {}

    # -- build or load -------------------------------------------------------------------------------
    def prepare(self) -> FeatureSpec:
        """Encoded splits from the cache, or read + encode (+ cache). Returns the FeatureSpec."""
        start = time.perf_counter()
        import polars  # its hash (the hashing trick) is stable only within a version: part of the key

        key = cache.cache_key(self.cfg, [__name__], {"encoding": ENCODING_VERSION, "polars": polars.__version__})
        entry = cache.entry_path(self.cache_dir, self.cfg, key)
        if self.cfg.cache and cache.is_stored(entry):
            spec, splits = self._load(entry)
            self.info["cache"] = "hit"
        else:
            spec, splits = self._build()
            self.info["cache"] = "miss"
            if self.cfg.cache:
                self._store(entry, spec, splits)
        self.info["cache_entry"] = str(entry) if self.cfg.cache else None
        self.info["rows"] = {name: len(t) for name, t in splits.items()}
        self.info["seconds"] = round(time.perf_counter() - start, 3)
        self.info["ctr"] = {name: float(t.label.mean()) if len(t) else None for name, t in splits.items()}
        self.spec = spec
        self.tables = {name: self._tensors(t) for name, t in splits.items()}
        return spec

    def _build(self) -> tuple[FeatureSpec, dict[str, EncodedTable]]:
        source = get_method(str(self.cfg._target_))
        args = {k: v for k, v in OmegaConf.to_container(self.cfg, resolve=True).items() if k not in _NOT_SOURCE_ARGS}
        t0 = time.perf_counter()
        table: RawTable = source(**args)
        self.info["read_seconds"] = round(time.perf_counter() - t0, 3)
        sizes = split_sizes(table.frame.height, list(self.cfg.split))
        if any(s == 0 for s, f in zip(sizes, self.cfg.split, strict=True) if f > 0):
            raise DataError(
                f"{table.source}: {table.frame.height} rows are too few for the split {list(self.cfg.split)} "
                f"(train/valid/test rows: {sizes}). Use more rows (dataset.max_rows) or change dataset.split."
            )
        t0 = time.perf_counter()
        f = self.cfg.features
        encoder = TabularEncoder(f.min_count, f.hash_buckets, f.numeric_transform, f.standardize, f.missing_indicators)
        spec = encoder.fit(table, sizes[0])
        encoded = encoder.transform(table)
        bounds = np.cumsum((0, *sizes))
        splits = {name: encoded.slice(int(bounds[i]), int(bounds[i + 1])) for i, name in enumerate(SPLITS)}
        self.info["encode_seconds"] = round(time.perf_counter() - t0, 3)
        return spec, splits

    @staticmethod
    def _store(entry: Path, spec: FeatureSpec, splits: dict[str, EncodedTable]) -> None:
        arrays = {f"{name}_{part}": getattr(t, part) for name, t in splits.items() for part in PARTS}
        cache.store(entry, arrays, {"spec": spec.to_dict()})

    @staticmethod
    def _load(entry: Path) -> tuple[FeatureSpec, dict[str, EncodedTable]]:
        arrays, meta = cache.load(entry, [f"{name}_{part}" for name in SPLITS for part in PARTS])
        splits = {name: EncodedTable(*(arrays[f"{name}_{part}"] for part in PARTS)) for name in SPLITS}
        return FeatureSpec.from_dict(meta["spec"]), splits

    @staticmethod
    def _tensors(t: EncodedTable) -> TensorTable:
        return TensorTable(
            {
                "categorical": torch.from_numpy(t.categorical),
                "numeric": torch.from_numpy(t.numeric),
                "label": torch.from_numpy(t.label),
            }
        )

    # -- loaders --------------------------------------------------------------------------------------
    def _loader(self, split: str, shuffle: bool, batch_size: int) -> DataLoader:
        if not self.tables:
            raise RuntimeError("call prepare() before asking for data loaders")
        return batch_loader(self.tables[split], batch_size, shuffle, self.seed, self.trainer, self.pin_memory)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self.cfg.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", False, self.cfg.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self.cfg.eval_batch_size)
