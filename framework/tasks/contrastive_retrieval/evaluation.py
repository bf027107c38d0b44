"""Full-ranking evaluation of a search split: scores [Q, N] of every query against the split's catalogue.

`search_lists` turns scores, graded gains (0 = not relevant) and an exclusion mask (a query image is not
its own answer) into the `RankedLists` every metric of `framework.metrics.topk` / `.search` reads:

    items [Q, K]   the top K, best first           hits [Q, K]    gain > 0
    gains [Q, K]   their graded gains              ideal_gains    the best K gains, sorted (nDCG's ideal)
    n_relevant     relevant items per query        first_rank     rank (1-based) of the best-placed relevant
                                                                  item in the full ranking (median rank),
                                                                  half of its ties counted before it
An item scored -inf (excluded, or not found by a channel) is never listed: its place holds id -1.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

from framework.metrics.topk import RankedLists


def search_lists(scores: torch.Tensor, gains: torch.Tensor, exclude: torch.Tensor | None, k: int) -> RankedLists:
    scores = scores.float()
    if exclude is not None:
        scores = scores.masked_fill(exclude, float("-inf"))
        gains = gains.masked_fill(exclude, 0.0)
    k = min(k, scores.shape[1])
    top_scores, top = scores.topk(k, dim=1)
    listed = torch.isfinite(top_scores)  # -inf: not returned (excluded, or a channel that found nothing)
    top = top.masked_fill(~listed, -1)
    relevant = gains > 0
    best_relevant = scores.masked_fill(~relevant, float("-inf")).amax(1, keepdim=True)
    # expected rank under random tie-breaking: the ones above, and half of the others tied with it (an
    # unlisted relevant item sits among the unlisted ones)
    tied = (scores == best_relevant).sum(1) - 1
    first_rank = (scores > best_relevant).sum(1) + 1 + 0.5 * tied
    safe = top.clamp_min(0)
    return RankedLists(
        items=top,
        hits=relevant.gather(1, safe) & listed,
        n_relevant=relevant.sum(1),
        catalog_size=scores.shape[1],
        gains=gains.gather(1, safe) * listed,
        ideal_gains=gains.topk(k, dim=1).values,
        first_rank=first_rank,
    )


def list_length(metrics: dict[str, Metric]) -> int:
    """The longest list the metrics read (MAP@R reads up to R: its `k` is its cap)."""
    return max(int(getattr(m, "k", 1)) for m in metrics.values())


def evaluate_scores(
    metrics: dict[str, Metric], scores: torch.Tensor, gains: torch.Tensor, exclude: torch.Tensor | None
) -> dict[str, float]:
    """Every metric on one split's scores (fresh copies: the metrics passed in are left as they were)."""
    lists = search_lists(scores, gains, exclude, list_length(metrics))
    out = {}
    for name, metric in metrics.items():
        m = metric.clone()
        m.reset()
        m.update(lists)
        out[name] = float(m.compute())
    return out


def image_gains(classes: torch.Tensor, query_rows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(gains [Q, N]: 1 where the class matches, exclude [Q, N]: the query image itself) for queries that are
    catalogue rows `query_rows` (all of them by default)."""
    rows = torch.arange(len(classes)) if query_rows is None else query_rows
    gains = (classes[rows][:, None] == classes[None, :]).float()
    exclude = torch.zeros_like(gains, dtype=torch.bool)
    exclude[torch.arange(len(rows)), rows] = True
    return gains, exclude
