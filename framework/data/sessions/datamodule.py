"""Session data for the session_embedding kind: source -> clean -> time split -> cached arrays.

Training batches are (center, context) skip-gram pairs (`framework.data.sessions.pairs`, built by the
recipe from its `skipgram` settings); validation and test are one evaluation each of the whole part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from framework.data import cache, read_source
from framework.data.batching import TensorTable, batch_loader
from framework.data.module import CaseDataModule
from framework.data.sessions import splits as splits_module
from framework.data.sessions import table as table_module
from framework.data.sessions.splits import PARTS, Clicks, split_sessions
from framework.data.sessions.table import SessionTable, clean

_NOT_SOURCE_ARGS = {
    "_target_",
    "name",
    "split",
    "min_item_count",
    "valid_days",
    "test_days",
    "batch_size",
    "eval_batch_size",
    "cache",
}


@dataclass
class SessionSpec:
    """All a model knows about the data: the number of items and their attribute cardinalities."""

    n_items: int
    item_features: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"n_items": self.n_items, "item_features": dict(self.item_features)}


class SessionDataModule(CaseDataModule):
    def __init__(self, cfg: DictConfig, cache_dir: str | Path, seed: int, pin_memory: bool = False) -> None:
        super().__init__(cfg, cache_dir, seed, pin_memory)
        self.pairs: TensorTable | None = None  # set by the recipe (depends on its skip-gram settings)

    def prepare(self) -> SessionSpec:
        start = time.perf_counter()
        key = cache.cache_key(self.cfg, [table_module.__name__, splits_module.__name__, __name__])
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build)
        self.info.update(meta["info"], cache="hit" if hit else "miss", seconds=round(time.perf_counter() - start, 3))
        self.spec = SessionSpec(int(meta["n_items"]), dict(meta["item_features"]))
        self.parts = {p: Clicks(arrays[f"{p}_session"], arrays[f"{p}_item"], arrays["booked"]) for p in PARTS}
        self.item_features = {name: arrays[f"feature_{name}"] for name in self.spec.item_features}
        return self.spec

    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, SessionTable, "click sessions")
        sessions = clean(table, int(self.cfg.get("min_item_count") or 1))
        parts, split_info = split_sessions(sessions, float(self.cfg.valid_days), float(self.cfg.test_days))
        arrays = {"booked": sessions.booked}
        for name, clicks in parts.items():
            arrays[f"{name}_session"], arrays[f"{name}_item"] = clicks.session, clicks.item
        for name, values in sessions.item_features.items():
            arrays[f"feature_{name}"] = values
        info = {
            "source": table.source,
            "clicks_read": len(table.session),
            "dropped": sessions.dropped,
            "bookings": int((sessions.booked >= 0).sum()),
            **split_info,
            "read_seconds": round(read_seconds, 3),
        }
        cardinalities = {name: int(v.max()) + 1 for name, v in sessions.item_features.items()}
        meta = {"n_items": sessions.n_items, "item_features": cardinalities, "info": info, "arrays": sorted(arrays)}
        return arrays, meta

    def train_dataloader(self) -> DataLoader:
        assert self.pairs is not None, "the recipe sets the training pairs before fitting"
        return batch_loader(self.pairs, int(self.cfg.batch_size), True, self.seed, self.trainer, self.pin_memory)

    # Evaluation scores the whole part at once: one marker batch.
    def val_dataloader(self) -> DataLoader:
        return DataLoader([{"part": torch.zeros(1)}], batch_size=None)

    def test_dataloader(self) -> DataLoader:
        return DataLoader([{"part": torch.zeros(1)}], batch_size=None)
