"""Metrics of search (text -> video, image -> image) that the recommendation lists of `topk` lack.

They read the same `RankedLists`; the contrastive retrieval kind fills its graded gains and full ranks.

    MAP@R          (Musgrave et al. 2020, "A metric learning reality check"): R = the query's number of
                   relevant items; mean over the top R of precision@i at each relevant position i, / R.
                   pytorch-metric-learning's AccuracyCalculator "mean_average_precision_at_r" (tested).
    graded nDCG@k  gains 2^g - 1 of graded relevance g (0, 1, 2, ...) discounted by log2(rank + 1), divided by
                   the ideal list's (Burges et al.'s gains: ranx's "ndcg_burges"; torchmetrics' nDCG of targets
                   2^g - 1, tested); with 0/1 grades it is `topk.NDCGAtK`.
    median rank    median over queries of the rank of the first relevant item in the full ranking ("MdR"
                   of text-video retrieval papers; lower is better).
"""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from framework.metrics.topk import RankedLists, _discounts, _UserMean


class MAPAtR(_UserMean):
    """`max_r`: the longest list read (queries with more relevant items are cut there)."""

    def __init__(self, max_r: int = 1000) -> None:
        super().__init__(max_r)

    def update(self, lists: RankedLists) -> None:
        keep = lists.n_relevant > 0
        k = min(self.k, lists.hits.shape[1])
        hits = lists.hits[keep, :k].double()
        r = lists.n_relevant[keep].clamp_max(k)
        ranks = torch.arange(1, k + 1, device=hits.device, dtype=torch.float64)
        within_r = ranks[None, :] <= r[:, None]
        precision = torch.cumsum(hits, 1) / ranks
        self.total += ((precision * hits * within_r).sum(1) / r).sum()
        self.users += keep.sum()


class GradedNDCGAtK(_UserMean):
    def update(self, lists: RankedLists) -> None:
        if lists.gains is None or lists.ideal_gains is None:
            raise ValueError("GradedNDCGAtK needs lists with gains and ideal_gains (graded relevance)")
        if lists.gains.shape[1] < self.k:
            raise ValueError(f"GradedNDCGAtK(k={self.k}) needs lists of at least {self.k} items")
        keep = lists.n_relevant > 0
        discounts = _discounts(self.k, lists.gains.device)
        dcg = ((2.0 ** lists.gains[keep, : self.k].double() - 1) * discounts).sum(1)
        ideal = ((2.0 ** lists.ideal_gains[keep, : self.k].double() - 1) * discounts).sum(1)
        self.total += (dcg / ideal.clamp_min(1e-12)).sum()
        self.users += keep.sum()


class MedianRank(Metric):
    full_state_update = False
    higher_is_better = False
    is_differentiable = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("ranks", default=[], dist_reduce_fx="cat")

    def update(self, lists: RankedLists) -> None:
        if lists.first_rank is None:
            raise ValueError("MedianRank needs lists with first_rank (the full ranking's)")
        self.ranks.append(lists.first_rank[lists.n_relevant > 0].double())

    def compute(self) -> torch.Tensor:
        ranks = dim_zero_cat(self.ranks) if self.ranks else torch.zeros(0)
        return ranks.quantile(0.5).float() if len(ranks) else torch.tensor(float("nan"))


def micro_average_precision(scores: torch.Tensor, correct: torch.Tensor, n_positive: int) -> float:
    """Copy detection's micro average precision (μAP, the Image Similarity Challenge's metric, Douze et al.
    2021): every query's predicted match with its score, copies and distractors (queries with no original)
    together, sorted by score; the precision at each correct match, summed and divided by the number of
    queries that have an original (`n_positive`): a detector must rank its true matches above every
    distractor's best guess, at one threshold for all queries. Ties are broken against the correct ones."""
    if n_positive <= 0:
        raise ValueError("micro_average_precision needs at least one query with an original")
    first_wrong = torch.argsort(correct.int(), stable=True)  # then a stable sort by score keeps wrong first in ties
    order = first_wrong[torch.argsort(scores[first_wrong], descending=True, stable=True)]
    hits = correct[order].double()
    precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1, dtype=torch.float64)
    return float((precision * hits).sum() / n_positive)
