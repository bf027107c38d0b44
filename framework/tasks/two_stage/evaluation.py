"""Scoring ranked lists with an eval suite: stage 1's candidates in their own order, or re-ranked;
stage-1 recall@K (the share of relevant items that reach stage 2)."""

from __future__ import annotations

import torch
from torchmetrics import Metric

from framework.data.interactions.table import UserItemSets
from framework.metrics.suite import compute_once
from framework.metrics.topk import RankedLists
from framework.serving.retriever import Candidates


def evaluate_lists(metrics: dict[str, Metric], lists: RankedLists) -> dict[str, float]:
    return compute_once(metrics, lists)


def candidate_lists(candidates: Candidates, targets: UserItemSets, item_tags: torch.Tensor) -> RankedLists:
    """Stage 1's candidates in its own order, as lists to score."""
    return RankedLists(
        items=candidates.items,
        hits=candidates.hits(targets),
        n_relevant=targets.counts(candidates.users),
        catalog_size=len(item_tags),
        item_vectors=item_tags,
    )


def candidate_recall(candidates: Candidates, targets: UserItemSets) -> float:
    """Stage-1 recall@K: the share of each user's relevant items that reach stage 2, averaged over users."""
    n_relevant = targets.counts(candidates.users).double()
    keep = n_relevant > 0
    hits = candidates.hits(targets).sum(1).double()
    return float((hits[keep] / n_relevant[keep]).mean()) if keep.any() else 0.0
