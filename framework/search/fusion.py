"""Fusing several rankings of the same queries into one (e.g. BM25 over metadata + a text/video encoder).

A ranking is `(scores [Q, K], ids [Q, K])`, best first per row, as `BM25Search.search` or a nearest-neighbour
search returns it; id -1 marks an empty slot (fewer results) and is ignored. Ids within one row are distinct.
The lists may have different K. Both functions return `(scores float64 [Q, top], ids int64 [Q, top])`, best
first, ties broken by the lower id, padded with id -1 / score 0.

- `reciprocal_rank_fusion` (Cormack et al. 2009): score(d) = sum_i w_i / (k + rank_i(d)), rank 1-based among
  the row's valid ids; only positions count, so channels with incomparable scores fuse without calibration.
  k = 60 is the paper's default: a larger k flattens the difference between the top and the tail.
  Equals ranx's `fuse(method="rrf")` for unit weights.
- `weighted_score_fusion`: scores normalised per query and list, then score(d) = sum_i w_i * norm_i(d).
  "minmax": (s - min) / (max - min) over the list's valid results (as ranx's "min-max" norm; a list whose
  scores are all equal maps them to 1 rather than ranx's 0, so a channel that found a single result still
  votes for it). "zscore": (s - mean) / std (std 0 -> 1). A document missing from a list gets that list's
  minimum normalised score: 0 for minmax -- the same as ranx's `wsum` with `norm="min-max"` -- and the
  lowest z for zscore (not retrieved = no better than the worst retrieved, rather than average).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Ranking = tuple[np.ndarray, np.ndarray]


def _check(rankings: Sequence[Ranking], weights: Sequence[float] | None) -> tuple[int, np.ndarray]:
    if not rankings:
        raise ValueError("fusion: no rankings to fuse.")
    q = np.asarray(rankings[0][1]).shape[0]
    for i, (scores, ids) in enumerate(rankings):
        if np.shape(scores) != np.shape(ids) or np.ndim(ids) != 2 or np.shape(ids)[0] != q:
            raise ValueError(
                f"fusion: ranking {i} has scores {np.shape(scores)} and ids {np.shape(ids)}; expected two "
                f"[{q}, K] arrays (one row per query)."
            )
    w = np.ones(len(rankings)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(rankings),):
        raise ValueError(f"fusion: {len(w)} weight(s) for {len(rankings)} ranking(s).")
    return q, w


def _combine(q: int, parts: list[tuple[np.ndarray, np.ndarray]], top: int, base: np.ndarray) -> Ranking:
    """Sum contributions by (query, id) and keep each query's `top`. parts: (ids [Q, K], contribution [Q, K]);
    base [Q]: a per-query constant added to every returned document."""
    rows = np.concatenate([np.broadcast_to(np.arange(q)[:, None], ids.shape)[ids >= 0] for ids, _ in parts])
    ids = np.concatenate([ids[ids >= 0] for ids, _ in parts]).astype(np.int64)
    values = np.concatenate([c[ids_ >= 0] for ids_, c in parts]).astype(np.float64)
    out_scores = np.zeros((q, top), dtype=np.float64)
    out_ids = np.full((q, top), -1, dtype=np.int64)
    if ids.size == 0:
        return out_scores, out_ids
    key = rows.astype(np.int64) * (int(ids.max()) + 1) + ids
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=values, minlength=len(unique))
    u_rows, u_ids = unique // (int(ids.max()) + 1), unique % (int(ids.max()) + 1)
    total = total + base[u_rows]
    # By query, then score descending; lexsort is stable and `unique` is sorted by (query, id): ties keep the lower id.
    order = np.lexsort((-total, u_rows))
    u_rows, u_ids, total = u_rows[order], u_ids[order], total[order]
    starts = np.searchsorted(u_rows, np.arange(q))
    position = np.arange(len(u_rows)) - starts[u_rows]
    keep = position < top
    out_scores[u_rows[keep], position[keep]] = total[keep]
    out_ids[u_rows[keep], position[keep]] = u_ids[keep]
    return out_scores, out_ids


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], k: int = 60, top: int = 100, weights: Sequence[float] | None = None
) -> Ranking:
    """RRF of `rankings`: sum_i w_i / (k + rank), rank 1-based by position among the row's valid ids."""
    q, w = _check(rankings, weights)
    if k < 0:
        raise ValueError(f"reciprocal_rank_fusion: k must be >= 0, got {k}.")
    parts = []
    for (_, ids), wi in zip(rankings, w, strict=True):
        ids = np.asarray(ids)
        rank = np.cumsum(ids >= 0, axis=1)  # -1 slots take no rank
        parts.append((ids, wi / (k + rank)))
    return _combine(q, parts, top, np.zeros(q))


def weighted_score_fusion(
    rankings: Sequence[Ranking],
    weights: Sequence[float] | None = None,
    top: int = 100,
    normalise: str = "minmax",
) -> Ranking:
    """sum_i w_i * normalised score (per query and list; `normalise` "minmax" or "zscore"); a document missing
    from a list gets that list's minimum normalised score (0 for minmax)."""
    q, w = _check(rankings, weights)
    if normalise not in ("minmax", "zscore"):
        raise ValueError(f"weighted_score_fusion: normalise must be 'minmax' or 'zscore', got {normalise!r}.")
    parts, base = [], np.zeros(q)
    for (scores, ids), wi in zip(rankings, w, strict=True):
        ids, s = np.asarray(ids), np.asarray(scores, dtype=np.float64)
        valid = ids >= 0
        count = valid.sum(axis=1, keepdims=True)
        lo = np.where(valid, s, np.inf).min(axis=1, keepdims=True)
        if normalise == "minmax":
            hi = np.where(valid, s, -np.inf).max(axis=1, keepdims=True)
            span = hi - lo
            # All-equal scores (incl. a single result) -> 1: the list still votes for what it found.
            norm = np.where(span > 0, (s - lo) / np.where(span > 0, span, 1.0), 1.0)
            floor = np.zeros((q, 1))
        else:
            mean = np.where(valid, s, 0).sum(axis=1, keepdims=True) / np.maximum(count, 1)
            var = np.where(valid, (s - mean) ** 2, 0).sum(axis=1, keepdims=True) / np.maximum(count, 1)
            std = np.sqrt(var)
            std = np.where(std > 0, std, 1.0)
            norm = (s - mean) / std
            floor = np.where(count > 0, (lo - mean) / std, 0.0)
        # Missing = the floor: add w * floor to every document, and w * (norm - floor) to those listed.
        base += wi * floor[:, 0]
        parts.append((ids, wi * (norm - floor)))
    return _combine(q, parts, top, base)
