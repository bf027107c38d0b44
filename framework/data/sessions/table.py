"""Click sessions as a dataset source hands them to the session_embedding kind.

Sources (Diginetica files, the embedded generator) return a `SessionTable`: one row per click (session,
item, time; rows of a session in click order), optionally the listing each session ended by booking, and
per-item attributes (market, type, price band) where the source has them. `clean` maps item ids to
0..n-1, drops sessions of one click and rare items (repeatedly, until both rules hold) and counts what
it dropped, so the run can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SessionTable:
    session: np.ndarray  # int64 [N]: session of each click
    item: np.ndarray  # int64 [N]: raw item id of each click
    time: np.ndarray  # float64 [N]: when (any monotone unit: seconds, days)
    booked: dict[int, int] = field(default_factory=dict)  # session -> raw item id it booked (sessions that did)
    item_features: dict[str, dict[int, int]] = field(default_factory=dict)  # name -> raw item id -> code
    source: dict[str, Any] = field(default_factory=dict)


@dataclass
class CleanSessions:
    """Clicks sorted by (session, time); items 0..n_items-1 (`item_ids[i]` is i's raw id)."""

    session: np.ndarray  # int64 [N]: 0..n_sessions-1
    item: np.ndarray  # int64 [N]
    time: np.ndarray  # float64 [N]
    booked: np.ndarray  # int64 [n_sessions]: booked item, -1 for none (or a booked item that was dropped)
    item_ids: np.ndarray
    item_features: dict[str, np.ndarray]  # name -> int64 [n_items] (-1: unknown)
    dropped: dict[str, int]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_sessions(self) -> int:
        return len(self.booked)


def clean(table: SessionTable, min_item_count: int = 1, min_session_length: int = 2) -> CleanSessions:
    """Drop consecutive repeats of one item, then sessions shorter than `min_session_length` and items seen
    fewer than `min_item_count` times, until neither rule drops anything more."""
    order = np.lexsort((table.time, table.session))
    session, item, time = table.session[order], table.item[order], np.asarray(table.time, np.float64)[order]
    repeat = np.zeros(len(item), dtype=bool)
    repeat[1:] = (session[1:] == session[:-1]) & (item[1:] == item[:-1])  # a reload is not a new click
    keep = ~repeat
    n_sessions, n_items = len(np.unique(session)), len(np.unique(item))
    while True:
        _, item_inv, item_counts = np.unique(item[keep], return_inverse=True, return_counts=True)
        _, sess_inv, sess_counts = np.unique(session[keep], return_inverse=True, return_counts=True)
        drop = (item_counts[item_inv] < min_item_count) | (sess_counts[sess_inv] < min_session_length)
        if not drop.any():
            break
        keep[np.flatnonzero(keep)[drop]] = False
    session, item, time = session[keep], item[keep], time[keep]
    sessions, session_codes = np.unique(session, return_inverse=True)
    item_ids, item_codes = np.unique(item, return_inverse=True)
    dropped = {
        "repeated_clicks": int(repeat.sum()),
        "sessions": n_sessions - len(sessions),  # too short, at once or once rare items were gone
        "items": n_items - len(item_ids),  # too rare (or only in dropped sessions)
        "clicks": int((~keep).sum() - repeat.sum()),
    }
    index = {int(raw): i for i, raw in enumerate(item_ids)}
    booked = np.array([index.get(table.booked.get(int(s), -1), -1) for s in sessions], dtype=np.int64)
    features = {
        name: np.array([values.get(int(raw), -1) for raw in item_ids], dtype=np.int64)
        for name, values in table.item_features.items()
    }
    return CleanSessions(
        session_codes.astype(np.int64), item_codes.astype(np.int64), time, booked, item_ids, features, dropped
    )
