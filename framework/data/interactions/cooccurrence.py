"""Item-item similarity from co-occurrence: the neighbours item-based collaborative filtering uses.

Two items are similar when the same users interacted with both: cosine(i, j) = c_ij / sqrt(n_i n_j),
c_ij the number of users with both, n_i the users with i (Sarwar et al. 2001). Each item keeps its
`top` most similar items (ItemKNN's k), so the table is [items, top] whatever the catalogue's size,
and the product with a user's history stays sparse.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


def item_neighbours(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, top: int = 100
) -> tuple[torch.Tensor, torch.Tensor]:
    """(neighbour ids [n_items, top] long, cosine weights [n_items, top] float); unused slots point at
    the item itself with weight 0."""
    ones = np.ones(len(users), np.float32)
    x = sp.csr_matrix((ones, (users, items)), shape=(n_users, n_items))
    x.data[:] = 1.0  # a pair seen twice counts once
    counts = np.asarray(x.sum(0)).ravel()
    co = (x.T @ x).tocsr()
    co.setdiag(0.0)
    co.eliminate_zeros()
    norm = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    co = sp.diags(norm) @ co @ sp.diags(norm)
    top = max(1, min(top, n_items))
    ids = np.tile(np.arange(n_items)[:, None], (1, top))
    weights = np.zeros((n_items, top), np.float32)
    co = co.tocsr()
    for i in range(n_items):  # per row: a partial sort of its non-zeros (rows are short and sparse)
        start, stop = co.indptr[i], co.indptr[i + 1]
        if start == stop:
            continue
        cols, vals = co.indices[start:stop], co.data[start:stop]
        if len(vals) > top:
            keep = np.argpartition(-vals, top - 1)[:top]
            cols, vals = cols[keep], vals[keep]
        order = np.lexsort((cols, -vals))  # by weight, ties by id: deterministic
        ids[i, : len(order)], weights[i, : len(order)] = cols[order], vals[order]
    return torch.from_numpy(ids).long(), torch.from_numpy(weights)


def history_similarity(
    neighbours: torch.Tensor,
    weights: torch.Tensor,
    history_rows: torch.Tensor,
    history_items: torch.Tensor,
    n_rows: int,
    items: torch.Tensor,
) -> torch.Tensor:
    """sum over the row's history items h of sim(h, item), for `items` [n_rows, K].

    `history_rows` / `history_items` list the history as (row, item) pairs (e.g. `csr_rows`)."""
    n_items = len(neighbours)
    target = history_rows[:, None] * n_items + neighbours[history_items]  # [P, top]
    dense = torch.zeros(n_rows * n_items, device=items.device, dtype=weights.dtype)
    dense.index_add_(0, target.flatten(), weights[history_items].flatten())
    return dense.view(n_rows, n_items).gather(1, items)
