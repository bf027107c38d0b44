"""Ranks of the targets of a part's queries under a scorer, and an eval suite's values from them.

booking: from every clicked listing of a booked session, the booked listing's rank among the listings of
the same market (the query listing excluded; all listings when the data has no market); next click: the
next click's rank among all items but the query. Rank = 1 + (candidates scored above the target) + half
of those tied with it (the expected rank under random tie-breaking: a baseline with many equal scores,
such as co-visitation's zeros, gets neither luck nor a penalty).
booking_cold: the booking queries again, each query listing scored as if it were new (its cold-start
vector: the mean of similar listings' vectors, `framework.models.embedding.cold_start`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from framework.data.sessions.splits import Clicks
from framework.metrics.ranks import TargetRanks
from framework.metrics.suite import compute_once
from framework.models.embedding.cold_start import ColdStartScorer, similar_listings

BLOCK = 512


def target_ranks(scorer: Any, queries: np.ndarray, targets: np.ndarray, groups: np.ndarray | None) -> torch.Tensor:
    """float64 [Q]: rank of each target among the candidates of its query (same group when `groups`)."""
    out = []
    for start in range(0, len(queries), BLOCK):
        q, t = queries[start : start + BLOCK], targets[start : start + BLOCK]
        scores = scorer.scores(q).double()
        candidate = torch.ones_like(scores, dtype=torch.bool)
        candidate[torch.arange(len(q)), torch.from_numpy(q)] = False
        if groups is not None:
            candidate &= torch.from_numpy(groups[None, :] == groups[q][:, None])
        target = scores[torch.arange(len(q)), torch.from_numpy(t)][:, None]
        above = ((scores > target) & candidate).sum(1)
        tied = ((scores == target) & candidate).sum(1) - 1  # the target ties with itself
        out.append(1.0 + above + 0.5 * tied.clamp_min(0))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def wanted_queries(metrics: dict[str, Any]) -> set[str]:
    """Query sets the metrics read (Metric objects, or their config nodes before instantiation)."""
    return {
        str(getattr(m, "query", "next_click") if isinstance(m, Metric) else m.get("query", "next_click"))
        for m in metrics.values()
    }


def cold_start_neighbours(
    metrics: dict[str, Any], item_features: dict[str, np.ndarray], train: Clicks, n_items: int
) -> np.ndarray | None:
    """Each listing's cold-start neighbours when the suite asks for `booking_cold` queries, else None."""
    if "booking_cold" not in wanted_queries(metrics):
        return None
    return similar_listings(item_features, np.bincount(train.item, minlength=n_items))


def evaluate(
    metrics: dict[str, Metric],
    scorer: Any,
    clicks: Clicks,
    market: np.ndarray | None,
    neighbours: np.ndarray | None = None,
) -> dict[str, float]:
    wanted = wanted_queries(metrics)
    ranks = {}
    if "booking" in wanted or "booking_cold" in wanted:
        q, t = clicks.booking_queries()
        if "booking" in wanted:
            ranks["booking"] = target_ranks(scorer, q, t, market)
        if "booking_cold" in wanted:
            assert neighbours is not None, "booking_cold queries need cold_start_neighbours()"
            ranks["booking_cold"] = target_ranks(ColdStartScorer(scorer, neighbours), q, t, market)
    if "next_click" in wanted:
        q, t = clicks.next_click_queries()
        ranks["next_click"] = target_ranks(scorer, q, t, None)
    return compute_once(metrics, TargetRanks(ranks))
