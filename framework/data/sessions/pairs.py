"""Skip-gram training pairs from click sessions (word2vec's, with sessions as sentences).

(center, context) for every two clicks at most `window` positions apart in one session, both ways; with
`global_context`, also (click, booked listing) for every click of a session that ended in a booking: the
booking is context of every click however far (Grbovic & Cheng, KDD 2018, "booked listing as global
context"). One vectorised pass per offset: no loop over sessions.
"""

from __future__ import annotations

import numpy as np

from framework.data.sessions.splits import Clicks


def skipgram_pairs(clicks: Clicks, window: int, global_context: bool) -> tuple[np.ndarray, np.ndarray]:
    session, item = clicks.session, clicks.item
    centers, contexts = [], []
    for offset in range(1, window + 1):
        same = session[offset:] == session[:-offset]
        left, right = item[:-offset][same], item[offset:][same]
        centers += [left, right]
        contexts += [right, left]
    if global_context:
        booked = clicks.booked[session]
        keep = (booked >= 0) & (item != booked)
        centers.append(item[keep])
        contexts.append(booked[keep])
    return np.concatenate(centers).astype(np.int64), np.concatenate(contexts).astype(np.int64)
