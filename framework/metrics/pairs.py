"""Metrics of scored pairs: held-out friendships (positives) against one shared set of sampled
non-friends (negatives), as link prediction is scored in PyG's examples and OGB's leaderboards.

    ROC-AUC   P(a random positive outscores a random negative)       (torchmetrics BinaryAUROC)
    AP        average precision of positives among all pairs          (torchmetrics BinaryAveragePrecision)
    Hits@K    share of positives scored above the K-th best negative  (OGB's Evaluator for ogbl-collab/ddi)

A metric of this module declares `reads = "pairs"`: it is updated with `ScoredPairs`, where the top-k
metrics of `framework.metrics.topk` read a user's ranked list.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchmetrics import Metric
from torchmetrics.functional.classification import binary_auroc, binary_average_precision


@dataclass
class ScoredPairs:
    positive: torch.Tensor  # float [P]
    negative: torch.Tensor  # float [N]


class _PairMetric(Metric):
    reads = "pairs"
    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("positive", default=[], dist_reduce_fx="cat")
        self.add_state("negative", default=[], dist_reduce_fx="cat")

    def update(self, pairs: ScoredPairs) -> None:
        self.positive.append(pairs.positive.double().flatten())
        self.negative.append(pairs.negative.double().flatten())

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        cat = lambda xs: torch.cat(xs) if isinstance(xs, list) else xs  # noqa: E731  (a list before a DDP sync)
        return cat(self.positive), cat(self.negative)

    def _labelled(self) -> tuple[torch.Tensor, torch.Tensor]:
        pos, neg = self._scores()
        return torch.cat([pos, neg]), torch.cat([torch.ones_like(pos), torch.zeros_like(neg)]).long()


class PairAUROC(_PairMetric):
    def compute(self) -> torch.Tensor:
        return binary_auroc(*self._labelled()).float()


class PairAveragePrecision(_PairMetric):
    def compute(self) -> torch.Tensor:
        return binary_average_precision(*self._labelled()).float()


class HitsAtK(_PairMetric):
    """OGB's Hits@K: a positive counts when it scores strictly above the K-th highest negative score."""

    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k

    def compute(self) -> torch.Tensor:
        pos, neg = self._scores()
        if len(neg) < self.k:
            return torch.tensor(1.0)
        threshold = torch.topk(neg, self.k).values[-1]
        return (pos > threshold).double().mean().float()
