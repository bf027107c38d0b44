"""Split cleaned sessions by time and build what training and evaluation read.

Sessions are ordered by their first click: those starting in the last `test_days` days are test, the
`valid_days` before validation, the rest train (the Diginetica protocol holds out the last 7 days).
Clicks of items never seen in training cannot be embedded: they are dropped from validation and test
(and counted), and a session left with one click is dropped too.

Evaluation queries (each a query listing and a target listing, ranked among candidates):
- booking: every click of a session that ended in a booking, other than the booked listing, with the
  booked listing as target (the paper's evaluation: where does the eventual booking rank among the
  listings of the market, from each listing the user clicked?);
- next click: every consecutive pair of clicks (session-based recommendation's HR@20 / MRR@20).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from framework.data.sessions.table import CleanSessions
from framework.errors import DataError

PARTS = ("train", "valid", "test")


@dataclass
class Clicks:
    """Clicks of one part, sorted by session then time; `booked[s]` of session s (-1: none)."""

    session: np.ndarray  # int64 [N]
    item: np.ndarray  # int64 [N]
    booked: np.ndarray  # int64 [n_sessions of the whole data]

    def starts(self) -> np.ndarray:
        """Index of each session's first click."""
        return np.flatnonzero(np.r_[True, self.session[1:] != self.session[:-1]]) if len(self.session) else self.session

    def next_click_queries(self) -> tuple[np.ndarray, np.ndarray]:
        same = self.session[1:] == self.session[:-1]
        return self.item[:-1][same], self.item[1:][same]

    def booking_queries(self) -> tuple[np.ndarray, np.ndarray]:
        target = self.booked[self.session]
        keep = (target >= 0) & (self.item != target)
        return self.item[keep], target[keep]


def split_sessions(
    sessions: CleanSessions, valid_days: float, test_days: float
) -> tuple[dict[str, Clicks], dict[str, Any]]:
    start = np.full(sessions.n_sessions, np.inf)
    np.minimum.at(start, sessions.session, sessions.time)
    end = sessions.time.max()
    part_of_session = np.where(start > end - test_days, 2, np.where(start > end - test_days - valid_days, 1, 0))
    part = part_of_session[sessions.session]
    in_train = np.zeros(sessions.n_items, dtype=bool)
    in_train[sessions.item[part == 0]] = True
    unseen = (part > 0) & ~in_train[sessions.item]
    keep = ~unseen
    counts = np.bincount(sessions.session[keep], minlength=sessions.n_sessions)
    keep &= counts[sessions.session] >= 2
    booked = np.where((sessions.booked >= 0) & in_train[np.maximum(sessions.booked, 0)], sessions.booked, -1)
    parts = {
        name: Clicks(sessions.session[keep & (part == code)], sessions.item[keep & (part == code)], booked)
        for code, name in enumerate(PARTS)
    }
    empty = [name for name, c in parts.items() if len(c.session) == 0]
    if empty:
        raise DataError(
            f"The time split (validation: {valid_days:g} days, test: the last {test_days:g} days) leaves no "
            f"sessions in {' and '.join(empty)}. Use more data or other dataset.valid_days / dataset.test_days."
        )
    info = {
        "sessions": {name: len(c.starts()) for name, c in parts.items()},
        "clicks": {name: len(c.session) for name, c in parts.items()},
        "dropped_unseen_item_clicks": int(unseen.sum()),
        "dropped_sessions_left_with_one_click": len(np.unique(sessions.session[~keep & ~unseen])),
    }
    return parts, info
