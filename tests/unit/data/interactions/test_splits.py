"""Splits of interactions: RecBole's per-user ratio rule, leave-last-out and global time order, without leakage."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from framework.data.interactions.splits import TEST, TRAIN, VALID, ratio_counts, split_interactions
from framework.data.interactions.table import InteractionTable, encode_interactions


def log(n_users: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 40, n_users)
    user = np.repeat(np.arange(n_users), sizes)
    timestamp = rng.integers(0, 1000, len(user))  # with ties
    return user, timestamp


@pytest.mark.parametrize(
    ("n", "expected"),
    # floor(0.1 n) each for valid and test; a share between 0 and 1 interaction gets one, test first,
    # while train keeps more than one (RecBole's _calcu_split_ids).
    [
        (1, (1, 0, 0)),
        (2, (1, 0, 1)),
        (3, (1, 1, 1)),
        (5, (3, 1, 1)),
        (10, (8, 1, 1)),
        (25, (21, 2, 2)),
        (100, (80, 10, 10)),
    ],
)
def test_ratio_counts_follow_recbole(n: int, expected: tuple[int, int, int]) -> None:
    counts = ratio_counts(np.array([n]), [0.8, 0.1, 0.1])
    assert tuple(int(c[0]) for c in counts) == expected


def test_random_split_partitions_each_user() -> None:
    user, timestamp = log()
    part = split_interactions(user, timestamp, "random", [0.8, 0.1, 0.1], seed=3)
    for u in np.unique(user):
        mine = part[user == u]
        expected = ratio_counts(np.array([len(mine)]), [0.8, 0.1, 0.1])
        assert [int((mine == p).sum()) for p in (TRAIN, VALID, TEST)] == [int(c[0]) for c in expected]
        assert (mine == TRAIN).sum() >= 1  # a user evaluated in valid/test always has training items
    assert np.array_equal(part, split_interactions(user, timestamp, "random", [0.8, 0.1, 0.1], seed=3))
    assert not np.array_equal(part, split_interactions(user, timestamp, "random", [0.8, 0.1, 0.1], seed=4))


def test_leave_last_out_keeps_time_order_per_user() -> None:
    user, timestamp = log()
    part = split_interactions(user, timestamp, "leave_last_out", [0.8, 0.1, 0.1], seed=0)
    for u in np.unique(user):
        t, p = timestamp[user == u], part[user == u]
        n = len(t)
        assert (p == TEST).sum() == (1 if n >= 2 else 0) and (p == VALID).sum() == (1 if n >= 3 else 0)
        if n >= 2:
            assert t[p == TEST].min() >= t[p != TEST].max()  # nothing after the test item is trained on
        if n >= 3:
            assert t[p == VALID].min() >= t[p == TRAIN].max()


def test_temporal_split_cuts_once_in_time() -> None:
    user, timestamp = log()
    part = split_interactions(user, timestamp, "temporal", [0.8, 0.1, 0.1], seed=0)
    assert timestamp[part == TRAIN].max() <= timestamp[part == VALID].min()
    assert timestamp[part == VALID].max() <= timestamp[part == TEST].min()
    assert (part == TRAIN).sum() == int(0.8 * len(user)) and (part == VALID).sum() == int(0.1 * len(user))


def table(rows: list[tuple[int, int, int, float]]) -> InteractionTable:
    frame = pl.DataFrame(rows, schema=["user", "item", "timestamp", "strength"], orient="row")
    return InteractionTable(
        interactions=frame,
        users=pl.DataFrame({"user": [1, 2, 3], "age": ["a", "b", None]}),
        items=pl.DataFrame({"item": [10, 20, 30], "genre_x": [1, 0, 1]}),
        user_categorical=["age"],
        user_numeric=[],
        item_categorical=[],
        item_numeric=[],
        item_tags=["genre_x"],
        strength="rating",
        source="test",
    )


def test_a_pair_counts_once_and_threshold_keeps_positives() -> None:
    rows = [(1, 10, 5, 5.0), (1, 10, 1, 4.0), (1, 20, 2, 2.0), (2, 30, 3, 4.0), (2, 10, 4, 5.0)]
    encoded = encode_interactions(table(rows), None)
    assert len(encoded.user) == 4  # (1, 10) twice: kept once, at its first time, so no pair is in two splits
    assert encoded.timestamp.tolist() == [1, 2, 3, 4]  # time order
    assert encoded.spec.n_users == 3 and encoded.spec.n_items == 3  # user 3 has features but no interaction
    assert encoded.users.categorical[:, 0].tolist() == [0, 1, 2]  # field 0 is the index itself
    assert encoded.users.categorical[2, 1] == 0  # missing category -> 0
    positives = encode_interactions(table(rows), 4.0)
    assert sorted(zip(positives.user.tolist(), positives.item.tolist(), strict=True)) == [(0, 0), (1, 0), (1, 2)]


def test_unknown_ids_and_empty_positives_are_data_errors() -> None:
    from framework.errors import DataError

    with pytest.raises(DataError, match="refer to items missing from the item table"):
        encode_interactions(table([(1, 99, 1, 5.0)]), None)
    with pytest.raises(DataError, match="no interaction has rating >= 9"):
        encode_interactions(table([(1, 10, 1, 5.0)]), 9)
