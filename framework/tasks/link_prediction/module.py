"""LinkPredictionTask: full-batch training of a graph model, evaluated on whole held-out splits.

Each training step hides a random `target_share` of the graph's edges from message passing (and from the
structural features) and learns to tell them from random non-edges: a model never scores an edge it can
see, which is what it meets at serving time (PyG's link-prediction recipe keeps one fixed split of the
training edges; drawing it anew each step uses every edge as a target). Validation and test evaluate the
model on the whole graph: the held-out split's pairs and every user's top-k list.
"""

from __future__ import annotations

from collections.abc import Callable

import lightning.pytorch as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric

from framework.data.graph.datamodule import GraphDataModule
from framework.data.graph.edges import pair_keys
from framework.data.graph.structure import GraphStructure
from framework.optim import with_scheduler
from framework.tasks.link_prediction.evaluation import evaluate
from framework.training.module_helpers import log_train_loss


class LinkPredictionTask(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        metrics: dict[str, Metric],
        data: GraphDataModule,
        strategy: str,
        target_share: float,
        negatives_per_positive: int,
        hard_negatives: float,
        loss: str,
        targets: str,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., object] | None = None,
        scheduler_interval: str = "epoch",
        monitor: str = "val/recall@10",
    ) -> None:
        super().__init__()
        self.model = model
        self.metrics = metrics
        self.split = data.split
        self.node_features = data.node_features
        self.structure = GraphStructure.from_edges(
            data.split.graph.src, data.split.graph.dst, data.spec.n_nodes, data.node_features
        )
        self.strategy = strategy
        self.target_share = target_share
        self.negatives_per_positive = negatives_per_positive
        self.hard_negatives = hard_negatives
        self.loss = loss
        self.latest = None if targets == "random" else np.argsort(data.split.graph_time, kind="stable")
        self.graph_keys = np.sort(pair_keys(data.split.graph.src, data.split.graph.dst, data.spec.n_nodes))
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        graph, n = self.split.graph, self.structure.n_nodes
        n_targets = max(1, int(len(graph) * self.target_share))
        if self.latest is not None:  # the newest friendships of the graph, as the held-out ones are the next
            targets, visible = self.latest[-n_targets:], self.latest[:-n_targets]
        else:
            order = torch.randperm(len(graph)).numpy()  # seeded: EpochSeed reseeds torch every epoch
            targets, visible = order[:n_targets], order[n_targets:]
        seen = GraphStructure.from_edges(graph.src[visible], graph.dst[visible], n, self.node_features)
        h = self.model.encode(seen)
        flip = torch.rand(n_targets).numpy() < 0.5  # a friendship is in both users' lists: either end is "u"
        u = np.where(flip, graph.dst[targets], graph.src[targets])
        v = np.where(flip, graph.src[targets], graph.dst[targets])
        negatives = self._negatives(seen, u, self.negatives_per_positive)  # [T, m]
        m = negatives.shape[1]
        positive = self.model.decode(h, seen, torch.from_numpy(u), torch.from_numpy(v))
        negative = self.model.decode(h, seen, torch.from_numpy(np.repeat(u, m)), torch.from_numpy(negatives.ravel()))
        negative = negative.view(n_targets, m)
        loss = link_loss(self.loss, positive, negative)
        log_train_loss(self, loss, n_targets * (1 + m))
        return loss

    def _negatives(self, seen: GraphStructure, users: np.ndarray, per_user: int) -> np.ndarray:
        """int64 [len(users), per_user] non-friends of each user: a `hard_negatives` share two hops away
        (what a friends-of-friends list must rank below the real new friends), the rest uniform."""
        n = seen.n_nodes
        u = np.repeat(users, per_user)
        v = torch.randint(n, (len(u),)).numpy()
        hard = torch.rand(len(u)).numpy() < self.hard_negatives
        if hard.any():
            walk = _random_neighbour(seen, _random_neighbour(seen, u[hard]))
            v[hard] = np.where(walk >= 0, walk, v[hard])
        # A hidden target is often two hops away in what the step sees: never train it as a negative too.
        bad = (u == v) | np.isin(pair_keys(u, v, n), self.graph_keys)
        v[bad] = torch.randint(n, (int(bad.sum()),)).numpy()  # uniform redraw (a rare repeat clash is noise)
        return v.reshape(len(users), per_user)

    def _evaluate(self, split: str) -> None:
        known = self.split.held_out["valid"] if split == "test" else None
        values = evaluate(
            self.metrics,
            self.model.scorer(self.structure),
            self.structure,
            self.split.held_out[split],
            self.split.negatives[split],
            self.strategy,
            known,
        )
        prefix = "val" if split == "valid" else "test"
        self.log_dict({f"{prefix}/{k}": v for k, v in values.items()}, on_step=False, on_epoch=True, batch_size=1)

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self._evaluate("valid")

    def test_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self._evaluate("test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        return with_scheduler(optimizer, self.scheduler_factory, self.scheduler_interval, self.monitor)


def _random_neighbour(structure: GraphStructure, nodes: np.ndarray) -> np.ndarray:
    """A uniformly drawn neighbour of each node (-1 for a node without neighbours, or for -1)."""
    indptr, indices = structure.adj.indptr, structure.adj.indices
    safe = np.maximum(nodes, 0)
    degree = indptr[safe + 1] - indptr[safe]
    pick = (torch.rand(len(nodes)).numpy() * degree).astype(np.int64)
    return np.where((nodes >= 0) & (degree > 0), indices[np.minimum(indptr[safe] + pick, len(indices) - 1)], -1)


def link_loss(kind: str, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """positive [T] and negative [T, m] logits of each target's user.
    pointwise: binary cross-entropy of every pair; pairwise: BPR, -log sigmoid(pos - neg) over the m pairs;
    listwise: softmax cross-entropy of the positive against its m negatives (sampled softmax)."""
    if kind == "pointwise":
        logits = torch.cat([positive, negative.flatten()])
        labels = torch.cat([torch.ones_like(positive), torch.zeros_like(negative.flatten())])
        return F.binary_cross_entropy_with_logits(logits, labels)
    if kind == "pairwise":
        return F.softplus(negative - positive[:, None]).mean()
    logits = torch.cat([positive[:, None], negative], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(positive), dtype=torch.long, device=logits.device))
