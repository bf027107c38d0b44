"""Tabular data for the ctr kind: source -> time-ordered split -> encoder fit on train -> cached arrays.

Two ways to build the arrays, with the same result (ids exactly, numeric values to float32 rounding):
- in memory: the source's RawTable, fit, transform (synthetic logs, small files);
- out of core (`framework/data/tabular/out_of_core.py`), for files of a `DelimitedFormat` (Criteo,
  Avazu): chunks of `dataset.chunk_rows` rows, bounded memory, arrays written straight into the cache
  entry. `dataset.out_of_core`: auto (files over OUT_OF_CORE_BYTES), true or false.
The encoded arrays are cached (`framework.data.cache`) under a key that also holds the encoding version
and polars' version, so a second run with the same data config skips reading and encoding entirely; a
cached entry is memory-mapped, not read, so training on data larger than memory reads only its batches.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import get_method
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from framework.data import cache, read_source
from framework.data.batching import TableRows, TensorTable, batch_loader
from framework.data.module import CaseDataModule
from framework.data.tabular import out_of_core
from framework.data.tabular.delimited import DelimitedFormat
from framework.data.tabular.downsampling import downsample
from framework.data.tabular.features import ENCODER_FILE, EncodedTable, FeatureSpec, TabularEncoder
from framework.data.tabular.table import RawTable, check_file, split_sizes
from framework.errors import ConfigError, DataError

ENCODING_VERSION = 2  # bump when encoding changes, to invalidate caches
SPLITS = out_of_core.SPLITS
PARTS = out_of_core.PARTS
OUT_OF_CORE_BYTES = 1 << 29  # out_of_core=auto: files larger than this (512 MiB, ~2M Criteo rows) go in chunks
CHUNK_ROWS = 1_000_000  # dataset.chunk_rows when a dataset does not set it
# The modules whose code shapes the arrays: a change to any of them invalidates cached entries.
CODE = [__name__, *(f"framework.data.tabular.{m}" for m in ("features", "statistics", "table", "delimited"))]
_NOT_SOURCE_ARGS = {
    "_target_",
    "name",
    "split",
    "batch_size",
    "eval_batch_size",
    "features",
    "cache",
    "negative_rate",
    "out_of_core",
    "chunk_rows",
}


class TabularDataModule(CaseDataModule):
    def __init__(self, cfg: DictConfig, cache_dir: str | Path, seed: int, pin_memory: bool = False) -> None:
        super().__init__(cfg, cache_dir, seed, pin_memory)
        self.spec: FeatureSpec | None = None
        self.tables: dict[str, TensorTable] = {}
        self.train_rows: np.ndarray | None = None  # training rows kept by negative downsampling; None: all
        self._encoder_state: dict[str, Any] | None = None  # TabularEncoder.state(), once built or read
        self._encoder_file: Path | None = None  # the cache entry's copy of it, read when asked for

    # -- build or load -------------------------------------------------------------------------------
    def prepare(self) -> FeatureSpec:
        """Encoded splits from the cache (memory-mapped), or read + encode (+ cache). Returns the FeatureSpec."""
        start = time.perf_counter()
        import polars  # its hash (the hashing trick) is stable only within a version: part of the key

        key = cache.cache_key(self.cfg, CODE, {"encoding": ENCODING_VERSION, "polars": polars.__version__})
        entry = cache.entry_path(self.cache_dir, self.cfg, key)
        if self.cfg.cache and cache.is_stored(entry):
            spec, splits, ctr = self._load(entry)
            self._encoder_file = entry / ENCODER_FILE
            self.info["cache"] = "hit"
        elif (fmt := self._out_of_core_format()) is not None:
            self.info["cache"] = "miss"
            spec, splits, ctr = self._build_out_of_core(fmt, entry)
        else:
            self.info["cache"] = "miss"
            spec, splits = self._build()
            ctr = {name: float(t.label.mean()) if len(t) else None for name, t in splits.items()}
            if self.cfg.cache:
                self._store(entry, spec, splits, ctr, self._encoder_state)
        self.info["cache_entry"] = str(entry) if self.cfg.cache else None
        self.info["rows"] = {name: len(t) for name, t in splits.items()}
        self.info["seconds"] = round(time.perf_counter() - start, 3)
        self.info["ctr"] = ctr
        self.spec = spec
        self.tables = {name: self._tensors(t) for name, t in splits.items()}
        rate, labels = float(self.cfg.get("negative_rate", 1.0)), self.tables["train"].tensors["label"].numpy()
        self.train_rows, self.info["downsampling"] = downsample(labels, rate, self.seed)
        return spec

    def _encoder(self) -> TabularEncoder:
        f = self.cfg.features
        return TabularEncoder(f.min_count, f.hash_buckets, f.numeric_transform, f.standardize, f.missing_indicators)

    def _split_sizes(self, n: int, source: str) -> tuple[int, int, int]:
        sizes = split_sizes(n, list(self.cfg.split))
        if any(s == 0 for s, f in zip(sizes, self.cfg.split, strict=True) if f > 0):
            raise DataError(
                f"{source}: {n} rows are too few for the split {list(self.cfg.split)} "
                f"(train/valid/test rows: {sizes}). Use more rows (dataset.max_rows) or change dataset.split."
            )
        return sizes

    def _build(self) -> tuple[FeatureSpec, dict[str, EncodedTable]]:
        table, seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, RawTable, "rows of a click log")
        self.info["read_seconds"] = round(seconds, 3)
        sizes = self._split_sizes(table.frame.height, table.source)
        t0 = time.perf_counter()
        encoder = self._encoder()
        spec = encoder.fit(table, sizes[0])
        self._encoder_state = encoder.state(table)
        encoded = encoder.transform(table)
        bounds = np.cumsum((0, *sizes))
        splits = {name: encoded.slice(int(bounds[i]), int(bounds[i + 1])) for i, name in enumerate(SPLITS)}
        self.info["encode_seconds"] = round(time.perf_counter() - t0, 3)
        return spec, splits

    def _out_of_core_format(self) -> DelimitedFormat | None:
        """The source's DelimitedFormat when the arrays are to be built out of core (dataset.out_of_core)."""
        mode = self.cfg.get("out_of_core", "auto")
        if mode is False:
            return None
        source = get_method(str(self.cfg._target_))
        fmt = getattr(sys.modules[source.__module__], "FORMAT", None)
        if not isinstance(fmt, DelimitedFormat):
            if mode is True:
                raise ConfigError(
                    f"dataset.out_of_core=true: dataset '{self.cfg.name}' ({self.cfg._target_}) is not a delimited "
                    f"file that can be read in chunks (criteo, avazu are). Set dataset.out_of_core=false."
                )
            return None
        if mode == "auto" and check_file(str(self.cfg.path), fmt.what).stat().st_size <= OUT_OF_CORE_BYTES:
            return None
        return fmt

    def _build_out_of_core(
        self, fmt: DelimitedFormat, entry: Path
    ) -> tuple[FeatureSpec, dict[str, EncodedTable], dict[str, Any]]:
        """Encode the file in chunks straight into the cache entry (a temporary one without the cache),
        then memory-map it."""
        t0 = time.perf_counter()
        path, chunk_rows = str(self.cfg.path), int(self.cfg.get("chunk_rows") or CHUNK_ROWS)
        index = fmt.index(path, chunk_rows, self.cfg.get("max_rows"))
        sizes = self._split_sizes(fmt.n_rows(index), path)
        count_seconds = time.perf_counter() - t0
        if not self.cfg.cache:  # the arrays still live on disk, in a folder removed with this data module
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f".{self.cfg.name}-uncached-", dir=self.cache_dir))
            weakref.finalize(self, shutil.rmtree, folder, True)
            entry = folder / "arrays"
        meta: dict[str, Any] = {}

        def write(folder: Path) -> dict[str, Any]:
            meta.update(out_of_core.encode_file(fmt, path, index, sizes, self._encoder(), folder))
            return meta

        cache.store_from(entry, write)
        self._encoder_file = entry / ENCODER_FILE  # encode_file wrote it there
        seconds = meta.pop("seconds")
        self.info["out_of_core"] = {"chunk_rows": chunk_rows, "chunks": meta.pop("chunks"), "seconds": seconds}
        self.info["read_seconds"] = round(count_seconds + seconds["parse"], 3)
        self.info["encode_seconds"] = round(seconds["fit"] + seconds["transform"] + seconds["write"], 3)
        return self._load(entry)

    @staticmethod
    def _store(
        entry: Path,
        spec: FeatureSpec,
        splits: dict[str, EncodedTable],
        ctr: dict[str, Any],
        encoder: dict[str, Any] | None,
    ) -> None:
        arrays = {f"{name}_{part}": getattr(t, part) for name, t in splits.items() for part in PARTS}
        rows = {name: len(t) for name, t in splits.items()}

        def write(folder: Path) -> dict[str, Any]:
            for name, array in arrays.items():
                np.save(folder / f"{name}.npy", array)
            (folder / ENCODER_FILE).write_text(json.dumps(encoder))  # its own file: a cache hit does not read it
            return {"spec": spec.to_dict(), "rows": rows, "ctr": ctr}

        cache.store_from(entry, write)

    @staticmethod
    def _load(entry: Path) -> tuple[FeatureSpec, dict[str, EncodedTable], dict[str, Any]]:
        """The entry's splits, memory-mapped: nothing is read until a batch needs it."""
        arrays, meta = cache.load(entry, [f"{name}_{part}" for name in SPLITS for part in PARTS], mmap=True)
        splits = {name: EncodedTable(*(arrays[f"{name}_{part}"] for part in PARTS)) for name in SPLITS}
        return FeatureSpec.from_dict(meta["spec"]), splits, meta["ctr"]

    @property
    def encoder_file(self) -> Path | None:
        """The cache entry's copy of the encoder state, when there is one (a cache hit, an out-of-core build)."""
        return self._encoder_file if self._encoder_file is not None and self._encoder_file.is_file() else None

    @property
    def encoder_state(self) -> dict[str, Any] | None:
        """`TabularEncoder.state()` of the encoder fit on train: what serving needs to encode raw rows (read
        from the cache entry on first use: a Criteo vocabulary is tens of MB of JSON a training run never needs)."""
        if self._encoder_state is None and self.encoder_file is not None:
            self._encoder_state = json.loads(self.encoder_file.read_text())
        return self._encoder_state

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
        if self.train_rows is None:
            return self._loader("train", True, self.cfg.batch_size)
        kept = TableRows(self.tables["train"], torch.from_numpy(self.train_rows))  # gathered batch by batch
        return batch_loader(kept, self.cfg.batch_size, True, self.seed, self.trainer, self.pin_memory)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", False, self.cfg.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False, self.cfg.eval_batch_size)
