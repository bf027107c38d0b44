"""Stage 1 training task: a retrieval model, its loss and negatives, and full-ranking evaluation.

The model only encodes users and items (`user_vectors`, `item_vectors`); this task owns the feature
tables it reads them from, the loss (`framework.losses`), and the evaluation: every evaluated
user is scored against the whole catalogue, the items the user interacted with before the evaluated
split are excluded, and the top-k lists go to the eval suite's metrics (logged as
`retrieval/val/<name>` and `retrieval/test/<name>`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import lightning.pytorch as L
import torch
from torch import nn
from torchmetrics import Metric, MetricCollection

from framework.data.interactions.datamodule import InteractionDataModule
from framework.losses.negatives import Negatives, NegativeSampler
from framework.losses.retrieval import bpr, in_batch_softmax, sampled_softmax
from framework.metrics.topk import max_k, rank_top_k
from framework.models.layers import set_sparse
from framework.optim import with_scheduler
from framework.training.module_helpers import log_train_loss, split_metrics

PREFIX = "retrieval/"
_ITEM_CHUNK = 65_536


@dataclass
class Objective:
    """Stage 1's loss and negatives (the `retrieval` config node; framework.losses explains them)."""

    loss: Literal["softmax", "bpr"]
    negatives: Negatives
    num_negatives: int
    logq_correction: bool
    temperature: float
    embedding_l2: float

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.num_negatives < 1 or self.embedding_l2 < 0:
            raise ValueError("temperature and num_negatives must be positive, embedding_l2 non-negative")


class RetrievalTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        data: InteractionDataModule,
        objective: Objective,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "",
        sparse_embeddings: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        set_sparse(model, sparse_embeddings)
        self.objective = objective
        self.val_metrics, self.test_metrics = split_metrics(metrics, PREFIX, compute_groups=False)
        self.top_k = max_k(metrics)
        # Feature tables: buffers, so they follow the module to its device; not saved in checkpoints.
        for name, array in (
            ("user_cat", data.users.categorical),
            ("user_num", data.users.numeric),
            ("item_cat", data.items.categorical),
            ("item_num", data.items.numeric),
        ):
            self.register_buffer(name, torch.from_numpy(array), persistent=False)
        self.register_buffer("item_tags", data.item_tags, persistent=False)
        self.history = {split: data.history(split) for split in ("valid", "test")}
        self.targets = {split: data.sets[split] for split in ("valid", "test")}
        self.sampler = NegativeSampler(objective.negatives, data.item_counts, data.sets["train"])
        self.register_buffer("log_q", self.sampler.log_q, persistent=False)
        self.n_items = data.spec.n_items
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.monitor = monitor
        self._item_matrix: torch.Tensor | None = None

    # -- encoders over the feature tables -------------------------------------------------------------
    def user_vectors(self, users: torch.Tensor, leave_out: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.user_vectors(self.user_cat[users], self.user_num[users], leave_out)

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        if items is not None:
            return self.model.item_vectors(self.item_cat[items], self.item_num[items])
        chunks = [
            self.model.item_vectors(self.item_cat[s : s + _ITEM_CHUNK], self.item_num[s : s + _ITEM_CHUNK])
            for s in range(0, self.n_items, _ITEM_CHUNK)
        ]
        return torch.cat(chunks)

    # -- training -------------------------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        users, items = batch["user"], batch["item"]
        o = self.objective
        u, v = self.user_vectors(users, leave_out=items), self.item_vectors(items)  # a positive is not its own history
        log_q = self.log_q if o.logq_correction else None
        v_neg = None
        if o.loss == "bpr":
            v_neg = self.item_vectors(self.sampler.per_positive(users, items))
            loss = bpr(u, v, v_neg)
        elif o.negatives == "in_batch":
            loss = in_batch_softmax(u, v, items, log_q, o.temperature)
        else:
            negatives = self.sampler.draw(o.num_negatives).to(items.device)
            v_neg = self.item_vectors(negatives)
            loss = sampled_softmax(u, v, items, v_neg, negatives, log_q, o.temperature)
        if o.embedding_l2 > 0:
            norms = u.pow(2).sum() + v.pow(2).sum() + (v_neg.pow(2).sum() if v_neg is not None else 0.0)
            loss = loss + o.embedding_l2 * norms / len(users)
        log_train_loss(self, loss, len(users), PREFIX)
        return loss

    # -- full-ranking evaluation ----------------------------------------------------------------------
    def _evaluate(self, users: torch.Tensor, split: str, metrics: MetricCollection, batch_idx: int) -> None:
        if batch_idx == 0 or self._item_matrix is None:
            self._item_matrix = self.item_vectors()  # once per evaluation pass: the weights are fixed in it
        scores = self.user_vectors(users) @ self._item_matrix.T
        lists = rank_top_k(
            scores.float(),
            exclude=self.history[split].dense(users, scores.device),
            relevant=self.targets[split].dense(users, scores.device),
            k=self.top_k,
            item_vectors=self.item_tags,
        )
        metrics.update(lists)
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch["user"], "valid", self.val_metrics, batch_idx)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch["user"], "test", self.test_metrics, batch_idx)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)
