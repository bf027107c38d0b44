"""FeedTask: a multi-task network `model(categorical, numeric) -> [B, T]` (one output per head) trained on
the weighted sum of its per-task losses, evaluated per task and per feed request.

    loss = sum_t task_weight_t * mean over observed rows of loss_t
           binary t:      BCE(logit_t, y_t)
           regression t:  (out_t - (y_t - mean_t) / std_t)^2     (standardised with train statistics)
    head_t = sigmoid(logit_t) (binary) | mean_t + std_t * out_t (regression, in the label's units)
    engagement score = sum_t engagement_weight_t * head_t        what orders the feed
    gain             = max(0, sum_t engagement_weight_t * y_t)   the engagement a post earned (observed labels)

Validation and test hand a `FeedOutputs` (framework.metrics.feed) to the eval suite (`val/<name>`,
`test/<name>`), so one suite reads any task's head or the feed's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.metrics.feed import FeedOutputs, engagement_earned
from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.training.module_helpers import log_train_loss, split_metrics


class FeedHeads(nn.Module):
    """A multi-task model's outputs as each task's prediction (probability or value) and the engagement
    score: what evaluation and serving both run, `heads(categorical, numeric) -> ([B, T], [B])`."""

    def __init__(
        self,
        model: nn.Module,
        binary: Sequence[bool],
        target_scale: Sequence[tuple[float, float]],
        engagement_weights: Sequence[float],
    ) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("binary", torch.tensor(list(binary), dtype=torch.bool))
        scale = torch.tensor([list(s) for s in target_scale], dtype=torch.float32).reshape(-1, 2)
        self.register_buffer("mean", scale[:, 0])
        self.register_buffer("std", scale[:, 1])
        self.register_buffer("engagement", torch.tensor(list(engagement_weights), dtype=torch.float32))

    def predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        outputs = outputs.float()
        return torch.where(self.binary, torch.sigmoid(outputs), self.mean + self.std * outputs)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pred = self.predictions(self.model(categorical, numeric))
        return pred, pred @ self.engagement


class FeedTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        heads: Sequence[str],
        binary: Sequence[bool],
        target_scale: Sequence[tuple[float, float]],  # per head: (mean, std) of regression targets; (0, 1) else
        task_weights: Sequence[float],
        engagement_weights: Sequence[float],
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/ndcg@10",
        sparse_embeddings: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.heads = tuple(heads)
        self.scorer = FeedHeads(model, binary, target_scale, engagement_weights)
        self.register_buffer("task_weights", torch.tensor(list(task_weights), dtype=torch.float32))
        self.val_metrics, self.test_metrics = split_metrics(metrics, compute_groups=False)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def task_losses(self, outputs: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[T]: each head's mean loss over its observed rows (0 for a head with none in the batch)."""
        s = self.scorer
        observed = batch["observed"].float()
        target = torch.where(s.binary, batch["label"], (batch["label"] - s.mean) / s.std)
        bce = F.binary_cross_entropy_with_logits(outputs, target, reduction="none")
        squared = (outputs - target).pow(2)
        per_row = torch.where(s.binary, bce, squared) * observed
        return per_row.sum(0) / observed.sum(0).clamp_min(1.0)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        outputs = self.model(batch["categorical"], batch["numeric"]).float()
        losses = self.task_losses(outputs, batch)
        loss = (losses * self.task_weights).sum()
        log_train_loss(self, loss, len(outputs))
        for name, value in zip(self.heads, losses, strict=True):
            self.log(f"train/loss_{name}", value, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(outputs))
        return loss

    def feed_outputs(self, batch: dict[str, torch.Tensor]) -> FeedOutputs:
        pred, score = self.scorer(batch["categorical"], batch["numeric"])
        label, observed = batch["label"], batch["observed"]
        gain = engagement_earned(label, observed, self.scorer.engagement)
        return FeedOutputs(self.heads, pred, label, observed, batch["query"], score, gain)

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection) -> None:
        metrics.update(self.feed_outputs(batch))
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
