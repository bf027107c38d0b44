"""LTRTask: a network `model(categorical, numeric) -> logits` trained on whole query lists.

A batch is B queries padded to L candidates ([B, L, fields]); the model scores the B * L rows as a CTR
model would, and the kind's loss (`ltr.loss`: pointwise, pairwise, listwise or lambdarank,
`framework.losses.ranking`) compares the scores within each list. Validation and test sort each list
by score and hand the sorted lists to the eval suite (`val/<name>`, `test/<name>`).
"""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as L
import torch
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.losses.ranking import ranking_loss
from framework.metrics.topk import max_k
from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.tasks.learning_to_rank.evaluation import ranked_lists
from framework.training.module_helpers import log_train_loss, split_metrics


def list_scores(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits [B, L] of every candidate of the batch's lists (padding scored too, masked by callers)."""
    categorical, numeric = batch["categorical"], batch["numeric"]
    b, width = batch["mask"].shape
    return model(categorical.reshape(b * width, -1), numeric.reshape(b * width, -1)).view(b, width)


class LTRTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        loss: str,
        catalog_size: int,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/map@200",
        sparse_embeddings: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.loss_name = loss
        self.loss = ranking_loss(loss)
        self.depth = max_k(metrics)
        self.catalog_size = catalog_size
        self.val_metrics, self.test_metrics = split_metrics(metrics, compute_groups=False)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = list_scores(self.model, batch)
        loss = self.loss(logits, batch["label"], batch["mask"])
        log_train_loss(self, loss, len(logits))
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection) -> None:
        scores = list_scores(self.model, batch)
        lists = ranked_lists(scores, batch["label"], batch["mask"], batch["item"], self.depth, self.catalog_size)
        metrics.update(lists)
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
