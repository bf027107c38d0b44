"""CTRTask: binary cross-entropy on logits, eval-suite metrics on probabilities."""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.training.module_helpers import log_train_loss, split_metrics


class CTRTask(L.LightningModule):
    """Wraps a ranking model `model(categorical, numeric) -> logits`.

    Logs train/loss per step, val/<metric> per epoch and test/<metric> at the end; metric names come
    from the eval suite. Training runs through `framework.training.loop.fit_and_test`, whose `EpochSeed`
    callback makes the dropout masks of epoch k independent of a resume before it.
    """

    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/loss",
        sparse_embeddings: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.val_metrics, self.test_metrics = split_metrics(metrics)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.monitor = monitor

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch["categorical"], batch["numeric"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(self(batch), batch["label"])
        log_train_loss(self, loss, len(batch["label"]))
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection, prefix: str) -> None:
        logits = self(batch)
        label = batch["label"]
        loss = F.binary_cross_entropy_with_logits(logits, label)
        self.log(f"{prefix}/loss", loss, on_epoch=True, sync_dist=True, batch_size=len(label))
        metrics.update(torch.sigmoid(logits.float()), label.int())
        # Logging the Metric objects: Lightning computes them over the whole epoch (all ranks), then resets.
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics, "test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
