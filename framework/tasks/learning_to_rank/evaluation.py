"""Scores of padded lists -> the eval suite's ranked lists.

Each query's candidates are sorted by score (padding last); `hits` marks the relevant ones in that order,
padded with misses to the deepest k of the suite (MAP@200 reads 200 places even when a user saw 8 events),
and `n_relevant` counts the query's relevant candidates. Queries without one are skipped by the metrics.
"""

from __future__ import annotations

import torch

from framework.metrics.topk import RankedLists


def ranked_lists(
    scores: torch.Tensor, label: torch.Tensor, mask: torch.Tensor, item: torch.Tensor, depth: int, catalog_size: int
) -> RankedLists:
    """scores, label, mask, item: [Q, L]; the lists best first, `depth` places deep."""
    scores = scores.detach().double().masked_fill(~mask, float("-inf"))
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    relevant = (label > 0) & mask
    hits, items = relevant.gather(1, order), item.gather(1, order)
    width = hits.shape[1]
    if width < depth:
        hits = torch.cat([hits, hits.new_zeros(len(hits), depth - width)], dim=1)
        items = torch.cat([items, items.new_full((len(items), depth - width), -1)], dim=1)
    return RankedLists(items=items, hits=hits, n_relevant=relevant.sum(1), catalog_size=catalog_size)
