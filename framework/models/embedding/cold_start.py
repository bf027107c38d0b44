"""Cold-start vectors: a new listing's vector is the mean of those of similar listings nearby.

Grbovic & Cheng (KDD 2018, 3.1): a listing without clicks gets the mean vector of the 3 geographically
closest listings of the same type and price range that have vectors. The embedded data has no coordinates
inside a market, so "nearby" is the market; among the listings of the same segment (all item attributes
equal: market, type, price band) the most clicked ones are taken (their vectors are the best trained).
When the segment has no other listing with clicks, the listings of the same first attribute (the market)
stand in.

    nb = similar_listings(attributes, counts, k=3)   # int64 [n_items, 3], -1 where fewer exist
    vec = cold_start_vectors(vectors, nb)            # [n_items, d] unit vectors (zeros where nb is all -1)

An item's own vector is never used for itself (neighbours exclude it), so the same vectors measure, for a
listing that has clicks, what its carousel would have been had it been new (`booking_cold` queries).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

NEIGHBOURS = 3  # the paper's choice


def _top_in_group(group: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """int64 [n, k]: the k most clicked items (count > 0) of each item's group other than itself, -1 padded."""
    n = len(group)
    order = np.lexsort((np.arange(n), -counts, group))  # by group, then most clicked, ties by id
    sorted_group = group[order]
    start = np.searchsorted(sorted_group, group, side="left")
    end = np.searchsorted(sorted_group, group, side="right")
    slot = start[:, None] + np.arange(k + 1)[None, :]  # k + 1 candidates: one may be the item itself
    inside = slot < end[:, None]
    cand = np.where(inside, order[np.minimum(slot, n - 1)], -1)
    valid = inside & (cand != np.arange(n)[:, None]) & (counts[np.maximum(cand, 0)] > 0)
    # keep the first k valid candidates of each row, in order (a stable sort puts valid ones first)
    first = np.argsort(~valid, axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(cand, first, axis=1)
    return np.where(np.take_along_axis(valid, first, axis=1), picked, -1).astype(np.int64)


def similar_listings(attributes: dict[str, np.ndarray], counts: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """The k listings whose vectors make each listing's cold-start vector (-1 where fewer exist).

    attributes: name -> int [n_items] (the first one is the fallback group, e.g. the market);
    counts: training clicks per item (only items with clicks have trained vectors).
    """
    if not attributes:
        raise ValueError("cold-start vectors need item attributes (e.g. market, type, price band)")
    values = list(attributes.values())
    segment = np.zeros(len(counts), dtype=np.int64)
    for v in values:  # one id per combination of all attributes
        segment = segment * (int(v.max()) + 1) + v.astype(np.int64)
    counts = np.asarray(counts)
    out = _top_in_group(segment, counts, k)
    lonely = out[:, 0] < 0
    if lonely.any():  # nobody else in the segment has clicks: fall back to the first attribute's group
        out[lonely] = _top_in_group(values[0].astype(np.int64), counts, k)[lonely]
    return out


def cold_start_vectors(vectors: torch.Tensor, neighbours: np.ndarray) -> torch.Tensor:
    """[n, d] unit vectors: the normalised mean of each row's neighbour vectors (zeros without neighbours)."""
    nb = torch.from_numpy(neighbours)
    present = (nb >= 0).to(vectors.dtype)  # [n, k]
    summed = (vectors[nb.clamp_min(0)] * present[..., None]).sum(1)
    return F.normalize(summed / present.sum(1, keepdim=True).clamp_min(1.0), dim=1)


class ColdStartScorer:
    """Scores of a listing as if it were new: the mean of its neighbours' score rows under `base`.

    For skip-gram's similarities this ranks exactly as the cold-start vector does (a mean of dot products
    is the dot product with the mean of the query vectors; for cosine, normalising it scales a row); for a
    baseline (counts, co-visitation) it is that baseline's natural cold start.
    """

    def __init__(self, base: object, neighbours: np.ndarray) -> None:
        self.base, self.neighbours = base, neighbours

    def scores(self, queries: np.ndarray) -> torch.Tensor:
        nb = self.neighbours[queries]  # [Q, k]
        present = nb >= 0
        rows = self.base.scores(np.maximum(nb, 0).ravel()).double().reshape(*nb.shape, -1)
        weight = torch.from_numpy(present).double()[..., None]
        return (rows * weight).sum(1) / weight.sum(1).clamp_min(1.0)
