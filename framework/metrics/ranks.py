"""Metrics of the rank of one target per query, as session-based and similar-item evaluation reads them.

A query is (query item, target item): the rank is 1 + the number of candidates scored strictly above
the target + half of those tied with it (the expected rank under random tie-breaking; computed by
`framework.tasks.session_embedding.evaluation.target_ranks`). A metric reads the
ranks of the query set it names (`query`: "booking" — the eventually-booked listing from each clicked
listing, among the listings of the market; "booking_cold" — the same with the clicked listing scored by
its cold-start vector, as if it were new; "next_click" — the next click, among all items):

    Hit@k   share of queries whose target ranks in the top k     (HR@20 of session-based recommendation)
    MRR@k   mean of 1 / rank, 0 beyond k (k = null: no cut-off)
    mean rank                                                     (the paper's "average rank of the booked listing")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torchmetrics import Metric

Query = Literal["booking", "booking_cold", "next_click"]


@dataclass
class TargetRanks:
    ranks: dict[str, torch.Tensor]  # query set -> [Q]: rank of each query's target (1 = first)


class _RankMetric(Metric):
    reads = "ranks"
    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, query: Query = "next_click", k: int | None = None) -> None:
        super().__init__()
        if k is not None and k < 1:
            raise ValueError(f"k must be a positive integer or null, got {k}")
        self.query, self.k = query, k
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def value(self, ranks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def update(self, ranks: TargetRanks) -> None:
        r = ranks.ranks[self.query].double()
        self.total += self.value(r).sum()
        self.count += len(r)

    def compute(self) -> torch.Tensor:
        return (self.total / self.count.clamp_min(1.0)).float()


class HitAtRank(_RankMetric):
    def value(self, ranks: torch.Tensor) -> torch.Tensor:
        return (ranks <= (self.k or 1)).double()


class MRRAtRank(_RankMetric):
    def value(self, ranks: torch.Tensor) -> torch.Tensor:
        reciprocal = 1.0 / ranks
        return reciprocal if self.k is None else torch.where(ranks <= self.k, reciprocal, 0.0)


class MeanRank(_RankMetric):
    higher_is_better = False

    def value(self, ranks: torch.Tensor) -> torch.Tensor:
        return ranks
