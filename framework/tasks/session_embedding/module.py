"""SkipGramTask: skip-gram training on (center, context) batches; evaluation of a whole part at a time.

Negatives are drawn per batch: `negatives` from the unigram distribution raised to 0.75 (word2vec's
noise distribution, through its unigram table), and `market_negatives` uniformly from the center listing's market.
"""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as L
import numpy as np
import torch
from torch import nn
from torchmetrics import Metric

from framework.data.sessions.datamodule import SessionDataModule
from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.tasks.session_embedding.evaluation import evaluate
from framework.training.module_helpers import log_train_loss


class SkipGramTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        data: SessionDataModule,
        negatives: int,
        market_negatives: int,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/booking_mrr",
        sparse_embeddings: bool = True,
    ) -> None:
        super().__init__()
        self.model, self.metrics, self.data = model, metrics, data
        set_sparse(model, sparse_embeddings)
        counts = np.bincount(data.parts["train"].item, minlength=data.spec.n_items).astype(np.float64)
        # word2vec's unigram table: item i fills a share counts_i^0.75 / sum of its cells, so drawing a
        # negative is one uniform index (torch.multinomial over the items was 10x slower per batch)
        size = int(min(max(1_000_000, 100 * len(counts)), 20_000_000))
        share = np.cumsum(counts**0.75) / (counts**0.75).sum()
        self.noise_table = torch.from_numpy(np.searchsorted(share, (np.arange(size) + 0.5) / size).astype(np.int64))
        self.negatives, self.market_negatives = negatives, market_negatives
        market = data.item_features.get("market")
        if market_negatives and market is None:
            raise ValueError("skipgram.market_negatives needs a dataset with a market per item")
        self.market = market
        if market is not None:  # items sorted by market: a market's items are one contiguous range
            self.by_market = torch.from_numpy(np.argsort(market, kind="stable"))
            sizes = np.bincount(market, minlength=int(market.max()) + 1)
            self.market_start = torch.from_numpy(np.r_[0, np.cumsum(sizes)[:-1]])
            self.market_size = torch.from_numpy(sizes)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def _negatives(self, center: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.negatives:
            cells = torch.randint(len(self.noise_table), (len(center), self.negatives))
            parts.append(self.noise_table[cells])
        if self.market_negatives:
            m = torch.from_numpy(self.market)[center.cpu()]
            offset = (torch.rand(len(center), self.market_negatives) * self.market_size[m][:, None]).long()
            parts.append(self.by_market[self.market_start[m][:, None] + offset])
        return torch.cat(parts, dim=1).to(center.device)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        center, context = batch["center"], batch["context"]
        loss = self.model.loss(center, context, self._negatives(center))
        log_train_loss(self, loss, len(center))
        return loss

    def _evaluate(self, part: str) -> None:
        scorer = self.model.scorer(self.data.parts["train"])
        values = evaluate(self.metrics, scorer, self.data.parts[part], self.market)
        prefix = "val" if part == "valid" else "test"
        self.log_dict({f"{prefix}/{k}": v for k, v in values.items()}, on_step=False, on_epoch=True, batch_size=1)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate("valid")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate("test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
