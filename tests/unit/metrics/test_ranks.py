"""Rank metrics and target ranks (ties, market candidates) by hand."""

from __future__ import annotations

import math

import numpy as np
import torch

from framework.metrics.ranks import HitAtRank, MeanRank, MRRAtRank, TargetRanks
from framework.tasks.session_embedding.evaluation import target_ranks


def value(metric, ranks: list[float], query: str = "next_click") -> float:
    metric.update(TargetRanks({query: torch.tensor(ranks)}))
    return float(metric.compute())


def test_rank_metrics_by_hand() -> None:
    ranks = [1.0, 4.0, 30.0]
    assert math.isclose(value(HitAtRank("next_click", 20), ranks), 2 / 3, rel_tol=1e-6)
    assert math.isclose(value(MRRAtRank("next_click", 20), ranks), (1 + 0.25 + 0) / 3, rel_tol=1e-6)
    assert math.isclose(value(MRRAtRank("booking"), ranks, "booking"), (1 + 0.25 + 1 / 30) / 3, rel_tol=1e-6)
    assert math.isclose(value(MeanRank("booking"), ranks, "booking"), 35 / 3, rel_tol=1e-6)
    assert MeanRank("booking").higher_is_better is False


class Table:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = torch.from_numpy(rows)

    def scores(self, queries: np.ndarray) -> torch.Tensor:
        return self.rows[torch.from_numpy(queries)]


def test_target_ranks_skip_the_query_split_ties_and_keep_to_the_market() -> None:
    scores = np.array([[9.0, 5.0, 5.0, 7.0, 1.0]])  # query 0 scores itself highest
    scorer = Table(scores)
    # target 1: above it 3 (7.0); tied with it 2 -> rank 1 + 1 + 0.5
    assert target_ranks(scorer, np.array([0]), np.array([1]), None).tolist() == [2.5]
    # markets: 0, 1, 2 in market A; 3, 4 in market B -> only 2 competes (tied): 1 + 0 + 0.5
    market = np.array([0, 0, 0, 1, 1])
    assert target_ranks(scorer, np.array([0]), np.array([1]), market).tolist() == [1.5]
