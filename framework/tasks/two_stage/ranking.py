"""Stage 2 training task: a ranker re-orders stage 1's candidates.

Trains and evaluates on whole lists: each user's K candidates are scored by the ranker, any CTR-shaped
model `model(categorical, numeric) -> logits` fed by `RankerFeatures`. Training minimises a ranking
loss over each list (`ranking.loss`: pointwise, pairwise or listwise, `framework.losses.ranking`);
evaluation sorts each list by score and gives the re-ranked list to the eval suite (`val/<name>`,
`test/<name>`: the system's final metrics).
"""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as L
import torch
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.losses.ranking import ranking_loss
from framework.metrics.topk import RankedLists
from framework.models.layers import set_sparse
from framework.tasks.two_stage.ranker_features import RankerFeatures
from framework.training.module_helpers import log_train_loss, split_metrics


def list_logits(
    model: nn.Module, features: RankerFeatures, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor
) -> torch.Tensor:
    """Ranker logits of every candidate of each user's list [U, K] (padding scored as item 0)."""
    categorical, numeric = features.rows(users, items, scores)
    return model(categorical, numeric).view(items.shape)


def rerank(
    model: nn.Module, features: RankerFeatures, users: torch.Tensor, items: torch.Tensor, scores: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ranker logits of every candidate ([U, K], -inf on padding) and the re-ranked order ([U, K] indices)."""
    logits = list_logits(model, features, users, items, scores).float().masked_fill(items < 0, float("-inf"))
    return logits, torch.argsort(logits, dim=1, descending=True, stable=True)


class RankerTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        features: RankerFeatures,
        item_tags: torch.Tensor,
        optimizer: Callable[..., torch.optim.Optimizer],
        sparse_embeddings: bool = True,
        loss: str = "listwise",
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.features = features
        self.register_buffer("item_tags", item_tags, persistent=False)
        self.val_metrics, self.test_metrics = split_metrics(metrics, compute_groups=False)
        self.optimizer_factory = optimizer
        self.loss = ranking_loss(loss)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        items = batch["items"]
        logits = list_logits(self.model, self.features, batch["user"], items, batch["scores"])
        loss = self.loss(logits, batch["hits"], items >= 0)
        log_train_loss(self, loss, len(items))
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], metrics: MetricCollection) -> None:
        _, order = rerank(self.model, self.features, batch["user"], batch["items"], batch["scores"])
        lists = RankedLists(
            items=batch["items"].gather(1, order),
            hits=batch["hits"].gather(1, order),
            n_relevant=batch["n_relevant"],
            catalog_size=len(self.item_tags),
            item_vectors=self.item_tags,
        )
        metrics.update(lists)
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics)

    def configure_optimizers(self):
        return self.optimizer_factory(params=self.model.parameters())
