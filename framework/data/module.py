"""What every case's data module shares: the dataset config, the cache folder, the seed and the run
record (`info`), as `framework.data.prepared` builds them; and, for data held as one table of named
tensors per split, the loaders (shuffled training batches, evaluation in order)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as L
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from framework.data.batching import TensorTable, batch_loader


class CaseDataModule(L.LightningDataModule):
    def __init__(self, cfg: DictConfig, cache_dir: str | Path, seed: int, pin_memory: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.cache_dir = Path(cache_dir).expanduser()
        self.seed = seed
        self.pin_memory = pin_memory  # batches copied to a GPU go through page-locked memory
        self.info: dict[str, Any] = {}  # what was read, dropped and counted: the run record's `data`


class SplitTablesDataModule(CaseDataModule):
    """Each split is one `TensorTable` (`tensors(part)`, part = train / valid / test)."""

    def tensors(self, part: str) -> TensorTable:
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return batch_loader(
            self.tensors("train"), int(self.cfg.batch_size), True, self.seed, self.trainer, self.pin_memory
        )

    def val_dataloader(self) -> DataLoader:
        return batch_loader(self.tensors("valid"), int(self.cfg.eval_batch_size), False, self.seed, self.trainer)

    def test_dataloader(self) -> DataLoader:
        return batch_loader(self.tensors("test"), int(self.cfg.eval_batch_size), False, self.seed, self.trainer)
