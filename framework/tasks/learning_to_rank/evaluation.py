"""Scores of padded lists -> the eval suite's ranked lists.

Each query's candidates are sorted by score (padding last); `hits` marks the relevant ones in that order,
padded with misses to the deepest k of the suite (MAP@200 reads 200 places even when a user saw 8 events),
and `n_relevant` counts the query's relevant candidates. Queries without one are skipped by the metrics.

Equal scores are ordered by a fixed hash of the item id, never by the rows' order: trees and one-feature
baselines tie often (LightGBM ties about 40 % of the Kaggle fixture's test rows), and the order a log lists
a user's rows in can carry the label (on that fixture a list's first row is interested more often than
the rest), which a stable sort would hand to the tied model as free MAP (up to +0.015 on one seed).
"""

from __future__ import annotations

import torch

from framework.metrics.topk import RankedLists

_GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed int64 (Fibonacci hashing)


def tie_break(item: torch.Tensor) -> torch.Tensor:
    """A fixed pseudo-random key per item id (int64 arithmetic wraps): unrelated to the ids' order."""
    key = item.long() * _GOLDEN
    return key ^ (key >> 29)


def best_first(scores: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
    """[Q, L] positions of each list by descending score, equal scores in `tie_break` order."""
    by_key = torch.argsort(tie_break(item), dim=1, stable=True)
    return by_key.gather(1, torch.argsort(scores.gather(1, by_key), dim=1, descending=True, stable=True))


def ranked_lists(
    scores: torch.Tensor, label: torch.Tensor, mask: torch.Tensor, item: torch.Tensor, depth: int, catalog_size: int
) -> RankedLists:
    """scores, label, mask, item: [Q, L]; the lists best first, `depth` places deep."""
    scores = scores.detach().double().masked_fill(~mask, float("-inf"))
    order = best_first(scores, item)
    relevant = (label > 0) & mask
    hits, items = relevant.gather(1, order), item.gather(1, order)
    width = hits.shape[1]
    if width < depth:
        hits = torch.cat([hits, hits.new_zeros(len(hits), depth - width)], dim=1)
        items = torch.cat([items, items.new_full((len(items), depth - width), -1)], dim=1)
    return RankedLists(items=items, hits=hits, n_relevant=relevant.sum(1), catalog_size=catalog_size)
