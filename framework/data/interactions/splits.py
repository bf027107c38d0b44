"""Train / valid / test splits of user–item interactions. Each returns a part code per row: 0, 1 or 2.

- `random`: per user, a seeded shuffle of the user's interactions, cut by ratio (8:1:1 by default) with
  RecBole's rounding, so results compare with its published protocol: valid and test get
  floor(ratio x n) each, then, while train keeps more than one interaction, a split whose share is
  between 0 and 1 interaction gets one (test first). Every user with an evaluation item keeps training items.
- `leave_last_out`: per user in time order, the last interaction is test and the one before it valid
  (a user with two interactions gives one to test; one with a single interaction keeps it in train).
- `temporal`: one global cut in time order: the first 80% of interactions train, the next 10% valid,
  the last 10% test. Nothing of the future leaks into training; users and items may be new at test time.
Ties in time are broken by a seeded random key, not by file order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

TRAIN, VALID, TEST = 0, 1, 2
Strategy = Literal["random", "leave_last_out", "temporal"]


def _group_positions(user: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows visited in `order` (grouped by user): position within the user's group, and group size."""
    sorted_users = user[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    size = np.repeat(sizes, sizes)
    position = np.arange(len(order)) - np.repeat(starts, sizes)
    return position, size


def ratio_counts(n: np.ndarray, fractions: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, valid, test) counts per user of n interactions, with RecBole's rounding."""
    f = np.asarray(fractions, dtype=np.float64) / sum(fractions)
    counts = [np.floor(f[i] * n + 1e-9).astype(np.int64) for i in range(3)]
    counts[0] = n - counts[1] - counts[2]
    for i in (2, 1):  # test first, then valid
        grow = (counts[0] > 1) & (f[i] * n > 0) & (f[i] * n < 1)
        stop = counts[0] <= 1  # RecBole stops adjusting once train is down to one interaction
        grow &= ~stop
        counts[i] = counts[i] + grow
        counts[0] = counts[0] - grow
    return counts[0], counts[1], counts[2]


def split_random(user: np.ndarray, fractions: list[float], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(user)), user))  # by user, shuffled within each user
    position, size = _group_positions(user, order)
    n_train, n_valid, _ = ratio_counts(size, fractions)
    part = np.where(position < n_train, TRAIN, np.where(position < n_train + n_valid, VALID, TEST))
    out = np.empty(len(user), np.int8)
    out[order] = part
    return out


def split_leave_last_out(user: np.ndarray, timestamp: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(user)), timestamp, user))  # by user, then time
    position, size = _group_positions(user, order)
    from_end = size - 1 - position
    part = np.where((from_end == 0) & (size >= 2), TEST, np.where((from_end == 1) & (size >= 3), VALID, TRAIN))
    out = np.empty(len(user), np.int8)
    out[order] = part
    return out


def split_temporal(timestamp: np.ndarray, fractions: list[float], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(timestamp)), timestamp))
    f = np.asarray(fractions, dtype=np.float64) / sum(fractions)
    n = len(timestamp)
    n_train, n_valid = int(f[0] * n), int(f[1] * n)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    return np.where(rank < n_train, TRAIN, np.where(rank < n_train + n_valid, VALID, TEST)).astype(np.int8)


def split_interactions(
    user: np.ndarray, timestamp: np.ndarray, strategy: Strategy, fractions: list[float], seed: int
) -> np.ndarray:
    """Part code (TRAIN, VALID, TEST) of every interaction."""
    if strategy == "random":
        return split_random(user, fractions, seed)
    if strategy == "leave_last_out":
        return split_leave_last_out(user, timestamp, seed)
    if strategy == "temporal":
        return split_temporal(timestamp, fractions, seed)
    raise ValueError(f"unknown split strategy {strategy!r}")
