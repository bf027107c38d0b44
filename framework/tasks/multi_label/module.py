"""MultiLabelTask: a network `model(tokens, image, author) -> [B, C]` logits trained on one binary loss per
class, with the class imbalance handled as `multi_label.imbalance` says:

    none          BCE(logit_c, y_c), averaged over rows and classes
    class_weight  BCE with positives weighted by n_negative_c / n_positive_c (scikit-learn's "balanced"
                  ratio): every class counts as if balanced; probabilities come out inflated
    focal         (1 - p_t)^gamma * BCE (Lin et al. 2017): easy negatives stop dominating the gradient
    downsample    BCE on the downsampled rows; then P = sigmoid(logit_c + log r_c), r_c the rate at which
                  class c's negatives were kept (He et al. 2014's recalibration, as a logit shift)

Validation and test hand a `LabelOutputs` (the recalibrated probabilities) to the eval suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.metrics.multilabel import LabelOutputs
from framework.optim import with_scheduler
from framework.training.module_helpers import log_train_loss, split_metrics


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """Elementwise (1 - p_t)^gamma * BCE, p_t the probability of the true label (gamma 0: BCE)."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = torch.exp(-bce)
    return (1.0 - p_t).pow(gamma) * bce


class ClassProbabilities(nn.Module):
    """What evaluation and serving run: P(class) per post, `model(...)` logits shifted by log r_c."""

    def __init__(self, model: nn.Module, logit_shift: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("shift", torch.tensor(list(logit_shift), dtype=torch.float32))

    def forward(self, tokens: torch.Tensor, image: torch.Tensor, author: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(tokens, image, author).float() + self.shift)


class MultiLabelTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        heads: Sequence[str],
        imbalance: str,
        focal_gamma: float,
        pos_weight: Sequence[float],  # per class: n_negative / n_positive in train (class_weight), else unused
        logit_shift: Sequence[float],  # per class: log of the kept-negative rate (downsample), else 0
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/mean_pr_auc",
    ) -> None:
        super().__init__()
        self.model = model
        self.heads = tuple(heads)
        self.imbalance, self.focal_gamma = imbalance, focal_gamma
        self.register_buffer("pos_weight", torch.tensor(list(pos_weight), dtype=torch.float32))
        self.scorer = ClassProbabilities(model, logit_shift)
        self.val_metrics, self.test_metrics = split_metrics(metrics, compute_groups=False)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.imbalance == "focal":
            return focal_loss(logits, target, self.focal_gamma).mean()
        weight = self.pos_weight if self.imbalance == "class_weight" else None
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self.model(batch["tokens"], batch["image"], batch["author"]).float()
        loss = self.loss(logits, batch["label"])
        log_train_loss(self, loss, len(logits))
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection) -> None:
        prob = self.scorer(batch["tokens"], batch["image"], batch["author"])
        metrics.update(LabelOutputs.of(self.heads, prob, batch["label"]))
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
