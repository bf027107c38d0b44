"""Lightning callbacks and plugins used by every run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from framework.tracking.records import atomic_file


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save to a temporary file beside the target, fsync, rename: a kill -9 mid-save leaves the
    previous checkpoint intact instead of a truncated one."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        with atomic_file(path, "wb") as f:
            torch.save(checkpoint, f)


class EpochSeed(L.Callback):
    """Reseeds torch's RNG with (seed, epoch) at every epoch's first training batch, so that the dropout
    masks and sampled negatives of epoch k do not depend on whether the run was resumed before it.
    (Not in on_train_epoch_start, which Lightning skips for the epoch a resumed run restarts in.)"""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._seeded_epoch = -1

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._seeded_epoch != trainer.current_epoch:
            torch.manual_seed(self.seed * 100_003 + trainer.current_epoch)
            self._seeded_epoch = trainer.current_epoch


class ThroughputMonitor(L.Callback):
    """Training samples per second, over training time only (validation inside an epoch is excluded)."""

    def __init__(self) -> None:
        self.samples = 0
        self.seconds = 0.0
        self._epoch_start = 0.0
        self._val_start = 0.0
        self._val_seconds = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start, self._val_seconds = time.perf_counter(), 0.0

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._val_start = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._val_seconds += time.perf_counter() - self._val_start

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        self.samples += len(next(iter(batch.values()))) * trainer.world_size  # rows (or lists) in the batch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds += time.perf_counter() - self._epoch_start - self._val_seconds

    @property
    def samples_per_second(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None


class MetricHistory(L.Callback):
    """Every validation's logged metrics, by epoch; kept in checkpoints so a resumed run has them all."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        row.update(epoch=trainer.current_epoch, step=trainer.global_step)
        self.rows.append(row)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict.get("rows", []))


class ProgressBar(L.callbacks.RichProgressBar):
    """Rich progress bar without Lightning's `v_num` (a logger version that means nothing here)."""

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        return items
