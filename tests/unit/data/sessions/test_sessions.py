"""Cleaning, the time split, skip-gram pairs and the generator's planted structure."""

from __future__ import annotations

import numpy as np

from framework.data.sessions.pairs import skipgram_pairs
from framework.data.sessions.splits import Clicks, split_sessions
from framework.data.sessions.table import SessionTable, clean
from framework.data.synthetic.listing_sessions import generate


def table(rows: list[tuple[int, int, float]], booked: dict[int, int] | None = None) -> SessionTable:
    s, i, t = zip(*rows, strict=True)
    return SessionTable(np.array(s), np.array(i), np.array(t, dtype=float), booked or {})


def test_clean_drops_repeats_short_sessions_and_rare_items_until_both_rules_hold() -> None:
    rows = [(1, 10, 0), (1, 10, 1), (1, 11, 2), (2, 10, 3), (2, 11, 4), (3, 12, 5), (3, 10, 6), (4, 13, 7)]
    sessions = clean(table(rows), min_item_count=2)
    # the repeat 10,10 collapses; session 4 has one click; item 12 is rare -> session 3 is left with one click
    assert sessions.dropped == {"repeated_clicks": 1, "sessions": 2, "items": 2, "clicks": 3}
    assert sessions.item_ids.tolist() == [10, 11] and sessions.session.tolist() == [0, 0, 1, 1]


def test_time_split_drops_unseen_items_from_later_parts() -> None:
    rows = [(1, 1, 0.0), (1, 2, 0.1), (2, 1, 5.0), (2, 2, 5.1), (3, 2, 9.0), (3, 3, 9.1), (3, 1, 9.2)]
    sessions = clean(table(rows))
    parts, info = split_sessions(sessions, valid_days=3, test_days=2)  # test: starts after 7.2; valid: after 4.2
    assert info["sessions"] == {"train": 1, "valid": 1, "test": 1}
    assert info["dropped_unseen_item_clicks"] == 1  # item 3 exists only in test
    assert parts["test"].item.tolist() == [1, 0]  # items 2 and 1 as codes 1 and 0, item 3 gone


def test_pairs_within_the_window_and_the_booking_as_global_context() -> None:
    clicks = Clicks(np.array([0, 0, 0, 1, 1]), np.array([5, 6, 7, 8, 9]), booked=np.array([7, -1]))
    center, context = skipgram_pairs(clicks, window=1, global_context=False)
    assert sorted(zip(center.tolist(), context.tolist(), strict=True)) == [
        (5, 6),
        (6, 5),
        (6, 7),
        (7, 6),
        (8, 9),
        (9, 8),
    ]
    center, context = skipgram_pairs(clicks, window=2, global_context=True)
    pairs = set(zip(center.tolist(), context.tolist(), strict=True))
    assert {(5, 7), (7, 5)} <= pairs  # window 2 reaches two clicks away
    assert len(center) == 8 + 2  # 4 window pairs both ways + the booked 7 as context of 5 and 6
    assert clicks.booking_queries()[0].tolist() == [5, 6] and clicks.next_click_queries()[1].tolist() == [6, 7, 9]


def test_generator_is_seeded_and_bookings_end_their_sessions_in_the_market() -> None:
    a, b = generate(n_listings=300, n_sessions=500, seed=4), generate(n_listings=300, n_sessions=500, seed=4)
    assert np.array_equal(a.item, b.item) and a.booked == b.booked
    market = a.item_features["market"]
    last = {int(s): int(i) for s, i in zip(a.session, a.item, strict=True)}  # sorted by time: the last click wins
    for session, booked in a.booked.items():
        assert last[session] == booked
    first = {}
    for s, i in zip(a.session.tolist(), a.item.tolist(), strict=True):
        first.setdefault(s, i)
    same_market = np.mean([market[first[s]] == market[b_] for s, b_ in a.booked.items()])
    assert same_market == 1.0  # a session browses one market
