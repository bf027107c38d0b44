"""Seeded browsing sessions over listings, for the similar-listings case (Airbnb, KDD 2018).

Listings sit in markets (regions), each with a type and a price band: a segment is (market, type, band).
A session searches one market (markets by popularity) with a wish: a segment of that market. Each click
is a listing of the wished segment with a probability that grows from `focus_start` at the first click
to `focus_end` at the last (users browse the market, then narrow down), else any listing of the market;
listings are drawn by their own popularity. A share `booking_rate` of sessions ends in a booking: a
listing of the wished segment, clicked last.

So listings co-clicked within a window share a market but often not a segment, while the booked listing
always has the session's segment: the booking as global context ties every click of the session to its
segment, and same-market negatives teach what separates listings of one market — the paper's two
additions each have something to find. Times: session starts spread over `days` days.
"""

from __future__ import annotations

import numpy as np

from framework.data.sessions.table import SessionTable


def generate(
    n_listings: int = 2000,
    n_markets: int = 10,
    n_types: int = 3,
    n_price_bands: int = 4,
    n_sessions: int = 20000,
    mean_clicks: float = 10.0,
    focus_start: float = 0.2,
    focus_end: float = 0.8,
    booking_rate: float = 0.3,
    popularity_sigma: float = 1.0,
    days: int = 60,
    seed: int = 0,
    max_rows: int | None = None,
) -> SessionTable:
    rng = np.random.default_rng(seed)
    market = rng.integers(n_markets, size=n_listings)
    kind = rng.integers(n_types, size=n_listings)
    band = rng.integers(n_price_bands, size=n_listings)
    segment = (market * n_types + kind) * n_price_bands + band
    popularity = rng.lognormal(0.0, popularity_sigma, size=n_listings)

    def draw(groups: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """A listing of each wanted group, by popularity (one cumulative sum over listings sorted by group)."""
        order = np.argsort(groups, kind="stable")
        cum = np.cumsum(popularity[order])
        lo = np.searchsorted(groups[order], wanted, side="left")
        hi = np.searchsorted(groups[order], wanted, side="right")
        base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        target = base + rng.random(len(wanted)) * (cum[np.maximum(hi - 1, 0)] - base)
        return order[np.clip(np.searchsorted(cum, target, side="right"), lo, np.maximum(hi - 1, lo))]

    market_weight = np.bincount(market, weights=popularity, minlength=n_markets)
    session_market = rng.choice(n_markets, size=n_sessions, p=market_weight / market_weight.sum())
    wish_listing = draw(market, session_market)  # the wished segment: that of a popular listing of the market
    wish = segment[wish_listing]
    length = 2 + rng.geometric(1.0 / max(mean_clicks - 1.0, 1.0), size=n_sessions) - 1
    session = np.repeat(np.arange(n_sessions), length)
    offset = np.arange(len(session)) - np.repeat(np.cumsum(length) - length, length)  # click's position
    progress = offset / np.maximum(length[session] - 1, 1)  # 0 at the first click, 1 at the last
    focused = rng.random(len(session)) < focus_start + (focus_end - focus_start) * progress
    item = np.where(focused, draw(segment, wish[session]), draw(market, session_market[session]))
    books = rng.random(n_sessions) < booking_rate
    booked_item = draw(segment, wish[books])
    # the booked listing is the session's last click
    session = np.concatenate([session, np.flatnonzero(books)])
    item = np.concatenate([item, booked_item])
    start = rng.random(n_sessions) * days
    position = np.concatenate([offset, length[books]])

    time = start[session] + position * 1e-4  # clicks a few seconds apart, in order
    order = np.lexsort((time, session))
    session, item, time = session[order], item[order], time[order]
    if max_rows is not None:
        session, item, time = session[:max_rows], item[:max_rows], time[:max_rows]
    booked = {int(s): int(i) for s, i in zip(np.flatnonzero(books), booked_item, strict=True)}
    listings = range(n_listings)
    return SessionTable(
        session=session,
        item=item,
        time=time,
        booked=booked,
        item_features={
            "market": dict(zip(listings, market.tolist(), strict=True)),
            "type": dict(zip(listings, kind.tolist(), strict=True)),
            "price_band": dict(zip(listings, band.tolist(), strict=True)),
        },
        source={"generator": "listing_sessions", "sessions": n_sessions, "bookings": int(books.sum())},
    )
