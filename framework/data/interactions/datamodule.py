"""Interactions for the retrieval task: source -> positives -> split -> cached arrays -> batches.

Training batches are slices of the train positives {user, item, label=1}; evaluation batches are the
users who have at least one item in the evaluated split (full ranking scores each of them against the
whole catalogue). Items a user interacted with before the evaluated split are excluded from the
ranking: the train items for validation, the train and validation items for test.

The encoded arrays are cached like the tabular data (see `framework.data.tabular.datamodule`): keyed by the
dataset config minus batch sizes, the source files' sizes and times, the code that reads, encodes and
splits, and the seed (it drives the split).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from framework.data import cache, read_source
from framework.data.batching import TensorTable, batch_loader
from framework.data.interactions import splits as splits_module
from framework.data.interactions import table as interactions_module
from framework.data.interactions.splits import TEST, TRAIN, VALID, split_interactions
from framework.data.interactions.table import (
    EncodedInteractions,
    EntityFeatures,
    InteractionSpec,
    InteractionTable,
    UserItemSets,
    encode_interactions,
)
from framework.data.module import CaseDataModule
from framework.errors import DataError

SPLITS = ("train", "valid", "test")
# Dataset keys the data module uses; every other key is a parameter of the source (`_target_`).
_NOT_SOURCE_ARGS = {
    "_target_",
    "name",
    "split",
    "split_strategy",
    "positive_threshold",
    "batch_size",
    "eval_batch_size",
    "cache",
}
_ARRAYS = ("user", "item", "timestamp", "part", "user_cat", "user_num", "item_cat", "item_num", "item_tags")


class InteractionDataModule(CaseDataModule):
    def __init__(self, cfg: DictConfig, cache_dir: str | Path, seed: int, pin_memory: bool = False) -> None:
        super().__init__(cfg, cache_dir, seed, pin_memory)
        self.spec: InteractionSpec | None = None

    # -- build or load -------------------------------------------------------------------------------
    def prepare(self) -> InteractionSpec:
        start = time.perf_counter()
        key = cache.cache_key(
            self.cfg, [interactions_module.__name__, splits_module.__name__, __name__], {"seed": self.seed}
        )  # the seed drives the split
        arrays, meta, entry, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build, _ARRAYS)
        self.info.update(meta["info"], cache="hit" if hit else "miss")
        self.info["cache_entry"] = str(entry) if self.cfg.cache else None
        self.info["seconds"] = round(time.perf_counter() - start, 3)
        self._index(arrays, InteractionSpec.from_dict(meta["spec"]))
        return self.spec

    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, InteractionTable, "user-item interactions")
        encoded: EncodedInteractions = encode_interactions(table, self.cfg.get("positive_threshold"))
        strategy = self.cfg.get("split_strategy") or "random"
        part = split_interactions(encoded.user, encoded.timestamp, strategy, list(self.cfg.split), self.seed)
        sizes = {name: int((part == code).sum()) for name, code in zip(SPLITS, (TRAIN, VALID, TEST), strict=True)}
        empty = [name for name, n in sizes.items() if n == 0]
        if empty:
            raise DataError(
                f"{table.source}: the {strategy} split {list(self.cfg.split)} leaves no interactions in "
                f"{' and '.join(empty)} ({encoded.info['pairs']} positive pairs: {sizes}). "
                f"Use more data (dataset.max_rows) or another dataset.split / dataset.split_strategy."
            )
        arrays = {
            "user": encoded.user,
            "item": encoded.item,
            "timestamp": encoded.timestamp,
            "part": part,
            "user_cat": encoded.users.categorical,
            "user_num": encoded.users.numeric,
            "item_cat": encoded.items.categorical,
            "item_num": encoded.items.numeric,
            "item_tags": encoded.item_tags,
        }
        info = {
            **encoded.info,
            "source": table.source,
            "split_strategy": strategy,
            "rows": sizes,
            "read_seconds": round(read_seconds, 3),
        }
        return arrays, {"spec": encoded.spec.to_dict(), "info": info}

    def _index(self, arrays: dict[str, np.ndarray], spec: InteractionSpec) -> None:
        self.spec = spec
        self.users = EntityFeatures(arrays["user_cat"], arrays["user_num"])
        self.items = EntityFeatures(arrays["item_cat"], arrays["item_num"])
        self.item_tags = torch.from_numpy(arrays["item_tags"])
        part = arrays["part"]
        self.pairs = {
            name: (torch.from_numpy(arrays["user"][part == code]), torch.from_numpy(arrays["item"][part == code]))
            for name, code in zip(SPLITS, (TRAIN, VALID, TEST), strict=True)
        }
        self.times = {  # seconds since the epoch of every pair above (the ranker's time features)
            name: torch.from_numpy(arrays["timestamp"][part == code])
            for name, code in zip(SPLITS, (TRAIN, VALID, TEST), strict=True)
        }
        self.sets = {
            name: UserItemSets(u.numpy(), i.numpy(), spec.n_users, spec.n_items) for name, (u, i) in self.pairs.items()
        }
        self.item_counts = torch.bincount(self.pairs["train"][1], minlength=spec.n_items)
        self.user_counts = torch.bincount(self.pairs["train"][0], minlength=spec.n_users)

    # -- what evaluation needs ------------------------------------------------------------------------
    def history(self, split: str) -> UserItemSets:
        """Items to exclude when ranking for `split`: everything the user interacted with before it."""
        if split == "valid":
            return self.sets["train"]
        if split == "test":
            return self.sets["train"].union(self.sets["valid"])
        raise ValueError(f"no history for split {split!r}")

    def eval_users(self, split: str) -> torch.Tensor:
        return self.sets[split].users_with_items()

    # -- loaders --------------------------------------------------------------------------------------
    def _loader(self, table: TensorTable, shuffle: bool, batch_size: int) -> DataLoader:
        return batch_loader(table, batch_size, shuffle, self.seed, self.trainer, self.pin_memory)

    def train_dataloader(self) -> DataLoader:
        user, item = self.pairs["train"]
        table = TensorTable({"user": user, "item": item, "label": torch.ones(len(user))})
        return self._loader(table, True, self.cfg.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader(TensorTable({"user": self.eval_users("valid")}), False, self.cfg.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader(TensorTable({"user": self.eval_users("test")}), False, self.cfg.eval_batch_size)
