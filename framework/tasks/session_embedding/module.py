"""SkipGramTask: skip-gram training on (center, context) batches; evaluation of a whole part at a time.

Negatives are drawn per batch: `negatives` from the unigram distribution raised to 0.75 (word2vec's
noise distribution, through its unigram table), and `market_negatives` uniformly from the center listing's market.
With `negative_sampling="shared"` the random negatives are drawn once per chunk of `SHARED_CHUNK` pairs
(`shared_negatives` of them, each weighted negatives / shared_negatives: the same objective in expectation)
and scored by one matrix product per chunk, as PyTorch-BigGraph's chunked negatives; same-market negatives
stay per pair. With `negative_sampling="expected"` nothing is drawn: the loss takes the expectation over
both distributions (`SkipGram.expected_loss`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import lightning.pytorch as L
import numpy as np
import torch
from torch import nn
from torchmetrics import Metric

from framework.data.sessions.datamodule import SessionDataModule
from framework.models.embedding.skipgram import SHARED_CHUNK
from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.tasks.session_embedding.evaluation import cold_start_neighbours, evaluate
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
        negative_sampling: str = "sampled",
        shared_negatives: int = 16,
    ) -> None:
        super().__init__()
        self.model, self.metrics, self.data = model, metrics, data
        set_sparse(model, sparse_embeddings)
        counts = np.bincount(data.parts["train"].item, minlength=data.spec.n_items).astype(np.float64)
        # word2vec's unigram table: item i fills a share counts_i^0.75 / sum of its cells, so drawing a
        # negative is one uniform index (torch.multinomial over the items was 10x slower per batch)
        size = int(min(max(1_000_000, 100 * len(counts)), 20_000_000))
        smoothed = counts**0.75
        share = np.cumsum(smoothed) / smoothed.sum()
        cells = np.searchsorted(share, (np.arange(size) + 0.5) / size)
        self.noise_table = torch.from_numpy(cells.astype(np.int32))  # int32: half the cache misses of int64
        self.negatives, self.market_negatives = negatives, market_negatives
        self.negative_sampling, self.shared_negatives = negative_sampling, shared_negatives
        self.noise = torch.from_numpy(smoothed / smoothed.sum()).float()  # q_j of expected_loss
        self._weights_by_market: torch.Tensor | None = None
        market = data.item_features.get("market")
        if market_negatives and market is None:
            raise ValueError("skipgram.market_negatives needs a dataset with a market per item")
        self.market = market
        self.neighbours = cold_start_neighbours(metrics, data.item_features, data.parts["train"], data.spec.n_items)
        if market is not None:  # items sorted by market: a market's items are one contiguous range
            self.by_market = torch.from_numpy(np.argsort(market, kind="stable"))
            sizes = np.bincount(market, minlength=int(market.max()) + 1)
            self.market_start = torch.from_numpy(np.r_[0, np.cumsum(sizes)[:-1]])
            self.market_size = torch.from_numpy(sizes)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def _noise(self, *shape: int) -> torch.Tensor:
        cells = torch.randint(len(self.noise_table), (math.prod(shape),), dtype=torch.int32)
        return self.noise_table[cells].long().view(*shape)

    def _negatives(self, center: torch.Tensor, per_pair: bool = True) -> torch.Tensor:
        parts = [center.new_zeros((len(center), 0)).cpu()]
        if self.negatives and per_pair:
            parts.append(self._noise(len(center), self.negatives))
        if self.market_negatives:
            m = torch.from_numpy(self.market)[center.cpu()]
            offset = (torch.rand(len(center), self.market_negatives) * self.market_size[m][:, None]).long()
            parts.append(self.by_market[self.market_start[m][:, None] + offset])
        return torch.cat(parts, dim=1).to(center.device)

    def _negative_weights(self, centers: torch.Tensor) -> torch.Tensor:
        """[U, n_items]: expected draws of each item as a negative of each center (random + same market)."""
        if self._weights_by_market is None:  # [markets (or 1), n_items], built once
            weights = self.negatives * self.noise[None, :]
            if self.market_negatives:
                market = torch.from_numpy(self.market)
                same = (market[None, :] == torch.arange(len(self.market_size))[:, None]).float()
                weights = weights + self.market_negatives * same / self.market_size[:, None].clamp_min(1)
            self._weights_by_market = weights.to(centers.device)
        if not self.market_negatives:
            return self._weights_by_market.expand(len(centers), -1)
        return self._weights_by_market[torch.from_numpy(self.market).to(centers.device)[centers]]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        center, context = batch["center"], batch["context"]
        if self.negative_sampling == "expected":
            loss = self.model.expected_loss(center, context, self._negative_weights)
        elif self.negative_sampling == "shared":
            chunks = -(-len(center) // SHARED_CHUNK)
            shared = self._noise(chunks, self.shared_negatives).to(center.device)
            weight = self.negatives / self.shared_negatives
            loss = self.model.loss(center, context, self._negatives(center, per_pair=False), shared, weight)
        else:
            loss = self.model.loss(center, context, self._negatives(center))
        log_train_loss(self, loss, len(center))
        return loss

    def _evaluate(self, part: str) -> None:
        scorer = self.model.scorer(self.data.parts["train"])
        values = evaluate(self.metrics, scorer, self.data.parts[part], self.market, self.neighbours)
        prefix = "val" if part == "valid" else "test"
        self.log_dict({f"{prefix}/{k}": v for k, v in values.items()}, on_step=False, on_epoch=True, batch_size=1)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate("valid")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate("test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
