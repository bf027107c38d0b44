"""Pieces every task's LightningModule repeats: one metric collection per evaluated split, and the
training-loss logging (per step in the progress bar, per epoch averaged over ranks)."""

from __future__ import annotations

import lightning.pytorch as L
import torch
from torchmetrics import Metric, MetricCollection


def split_metrics(
    metrics: dict[str, Metric], prefix: str = "", compute_groups: bool = True
) -> tuple[MetricCollection, MetricCollection]:
    """(validation, test) collections logged as `<prefix>val/<name>` and `<prefix>test/<name>`.

    List metrics pass compute_groups=False: torchmetrics merges metrics whose states happen to be equal
    after the first batch (all zero when an untrained model hits nothing), and they would then report
    one value."""
    val = MetricCollection(dict(metrics), prefix=f"{prefix}val/", compute_groups=compute_groups)
    return val, val.clone(prefix=f"{prefix}test/")


def log_train_loss(module: L.LightningModule, loss: torch.Tensor, batch_size: int, prefix: str = "") -> None:
    module.log(f"{prefix}train/loss", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=batch_size)
    module.log(f"{prefix}train/loss_epoch", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=batch_size)
