"""Tabular data for the CTR task: source -> time-ordered split -> encoder fit on train -> cached arrays.

The encoded arrays are cached on disk under a key made of the dataset config (minus batch sizes), the
source file's size and modification time, and the encoding code's version, so a second run with the
same data config skips reading and encoding entirely. Cache entries are written to a temporary folder
and renamed into place: a killed run or two DDP ranks racing never leave a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from framework.data.batching import RowBatchSampler, TensorTable
from framework.data.features import EncodedTable, FeatureSpec, TabularEncoder
from framework.data.tabular import RawTable, split_sizes
from framework.errors import DataError
from framework.signatures import module_file

ENCODING_VERSION = 1  # bump when encoding changes, to invalidate caches
SPLITS = ("train", "valid", "test")
_NOT_SOURCE_ARGS = {"_target_", "name", "split", "batch_size", "eval_batch_size", "features", "cache"}


def cache_key(cfg: DictConfig) -> str:
    import polars

    content: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    for key in ("batch_size", "eval_batch_size", "cache"):
        content.pop(key, None)
    path = Path(str(content["path"])).expanduser() if content.get("path") else None
    if path is not None and path.exists():  # a missing file: the reader raises the clear error
        stat = path.stat()
        content["_file"] = [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    # The source's code (a generator changes its data when its code changes), the encoding version, and
    # polars' version (its hash, used by the hashing trick, is stable only within a version).
    source = module_file(str(cfg._target_).rpartition(".")[0])
    code = hashlib.sha256(source.read_bytes()).hexdigest()[:16] if source else None
    content["_versions"] = [ENCODING_VERSION, polars.__version__, code]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


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
        entry = self.cache_dir / f"{self.cfg.name}-{cache_key(self.cfg)}"
        if self.cfg.cache and (entry / "meta.json").exists():
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

    def _store(self, entry: Path, spec: FeatureSpec, splits: dict[str, EncodedTable]) -> None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.parent / f".{entry.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            for name, t in splits.items():
                for part in ("categorical", "numeric", "label"):
                    np.save(tmp / f"{name}_{part}.npy", getattr(t, part))
            meta = {"spec": spec.to_dict(), "config": OmegaConf.to_container(self.cfg, resolve=True)}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
            os.rename(tmp, entry)
        except OSError:
            if not (entry / "meta.json").exists():  # not a lost race with another process: a real failure
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _load(self, entry: Path) -> tuple[FeatureSpec, dict[str, EncodedTable]]:
        meta = json.loads((entry / "meta.json").read_text())
        splits = {
            name: EncodedTable(*(np.load(entry / f"{name}_{part}.npy") for part in ("categorical", "numeric", "label")))
            for name in SPLITS
        }
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
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        table = self.tables[split]
        sampler = RowBatchSampler(len(table), batch_size, shuffle, self.seed, rank, world)
        return DataLoader(table, sampler=sampler, batch_size=None, num_workers=0, pin_memory=self.pin_memory)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True, self.cfg.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", False, self.cfg.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self.cfg.eval_batch_size)
