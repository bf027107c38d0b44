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
        self.graph_keys = np.sort(pair_keys(data.split.graph.src, data.split.graph.dst, data.spec.n_nodes))
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.monitor = scheduler_interval, monitor

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        graph, n = self.split.graph, self.structure.n_nodes
        order = torch.randperm(len(graph)).numpy()  # seeded: EpochSeed reseeds torch every epoch
        n_targets = max(1, int(len(graph) * self.target_share))
        targets, visible = order[:n_targets], order[n_targets:]
        seen = GraphStructure.from_edges(graph.src[visible], graph.dst[visible], n, self.node_features)
        h = self.model.encode(seen)
        src, dst = torch.from_numpy(graph.src[targets]), torch.from_numpy(graph.dst[targets])
        neg_src, neg_dst = self._negatives(seen, graph.src[targets], n_targets * self.negatives_per_positive)
        n_neg = len(neg_src)
        logits = torch.cat([self.model.decode(h, seen, src, dst), self.model.decode(h, seen, neg_src, neg_dst)])
        labels = torch.cat([torch.ones(n_targets), torch.zeros(n_neg)]).to(logits.device)
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        log_train_loss(self, loss, len(labels))
        return loss

    def _negatives(self, seen: GraphStructure, sources: np.ndarray, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`count` non-edges: a `hard_negatives` share two hops from a target's source (what a user's
        friends-of-friends list must rank below the real new friends), the rest uniform random pairs."""
        n = seen.n_nodes
        n_hard = int(count * self.hard_negatives)
        src = torch.randint(n, (count,)).numpy()
        dst = torch.randint(n, (count,)).numpy()
        if n_hard:
            u = sources[torch.randint(len(sources), (n_hard,)).numpy()]
            w = _random_neighbour(seen, u)
            v = _random_neighbour(seen, w)
            ok = (w >= 0) & (v >= 0) & (v != u)
            src[:n_hard] = np.where(ok, u, src[:n_hard])
            dst[:n_hard] = np.where(ok, v, dst[:n_hard])
        # A hidden target is often two hops away in what the step sees: never train it as a negative too.
        real = (src != dst) & ~np.isin(pair_keys(src, dst, n), self.graph_keys)
        return torch.from_numpy(src[real]), torch.from_numpy(dst[real])

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
