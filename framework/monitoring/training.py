"""Training one model of a replay: up to `retraining.epochs` epochs on one device, validated after each,
the best epoch's weights kept in memory (a replay trains many models: no checkpoint files). The ad click
and the video replays both train through `fit_keeping_best`."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as L
import torch
from omegaconf import DictConfig


class BestWeights(L.Callback):
    """Keeps the weights of the best validation epoch in memory (a replay trains many models: no files)."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.epoch: int | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None:
            return
        value = float(value)
        if self.value is None or (value < self.value if self.mode == "min" else value > self.value):
            self.value, self.epoch = value, int(trainer.current_epoch)
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}


def fit_keeping_best(
    cfg: DictConfig, task: L.LightningModule, seed: int, mode: str, **fit: Any
) -> tuple[BestWeights, int]:
    """Fit `task` on one device for up to `retraining.epochs` epochs, validated after each (early stopping as
    `early_stopping` says), and load back the weights of the best epoch by the task's `monitor` (`mode`: min
    or max): (the callback that kept them, the epochs run). Both replays train through it."""
    from framework.training.callbacks import EpochSeed

    best = BestWeights(task.monitor, mode)
    callbacks: list = [EpochSeed(seed), best]
    if cfg.early_stopping is not None:
        es = cfg.early_stopping
        callbacks.append(L.callbacks.EarlyStopping(best.monitor, es.min_delta, es.patience, mode=best.mode))
    trainer = L.Trainer(
        accelerator=str(cfg.trainer.accelerator),
        devices=1,
        max_epochs=int(cfg.retraining.epochs),
        limit_train_batches=cfg.trainer.limit_train_batches,  # debug=fast: a few batches
        deterministic=cfg.trainer.deterministic,
        gradient_clip_val=cfg.trainer.gradient_clip_val,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )
    trainer.fit(task, **fit)
    if best.state is not None:
        task.load_state_dict(best.state)
    return best, int(trainer.current_epoch)
