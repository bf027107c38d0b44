"""A seeded user–video watch log with planted structure: the video recommendation case's embedded default.

What a model can learn:
- latent tastes: every video has a vector made of its topics' centroids, its creator's style and noise;
  every user a taste made of one or two favourite topics, offsets shared by users of the same age bucket
  and country (so the user features predict taste, which helps cold users), and noise;
- popularity skew: a power-law bias per video, so a few videos collect most views (what log-Q
  correction and popularity negatives are about);
- watch time: the fraction of a video watched rises with the user's affinity to it, so
  `positive_threshold` on the watched fraction keeps the interactions the user actually liked;
- a device x length cross in watch time: on mobile, short videos are finished and long ones dropped;
  on a TV the reverse. It decides which views become positives, not which videos are viewed: a
  feature cross for the ranker (and the two-tower's feature towers) to find.
Each user watches n_u videos (log-normal activity), drawn without replacement from
softmax(affinity / temperature + popularity) by the Gumbel top-k trick, at times spread over `days`.

Opt-in drift (`drift_from_day`; off by default, and then the log is exactly what it was without it): on
that day a trend starts, as when a new game or a season launches. `new_items` new videos are released
that day (they exist only from then: their views all come after it, and the item table's `released_at`
says when), from new creators and mostly about one trending topic; and every user's taste moves toward
that topic by `trend` (in topic-centroid units). Views before the day pick among the old videos with the
old tastes, views after it among all videos with the new ones. A retrieval model trained before the day
has never seen the new videos (an index built then lacks them) and points its user vectors at the old
tastes: its recall drops, and a model retrained on the days after the change recovers it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data.interactions.table import InteractionTable

TOPICS = [
    "music",
    "gaming",
    "news",
    "sports",
    "comedy",
    "education",
    "science",
    "cooking",
    "travel",
    "fashion",
    "tech",
    "film",
    "animals",
    "fitness",
    "diy",
    "kids",
    "finance",
    "history",
]
AGE_BUCKETS = ["13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
COUNTRIES = [f"c{i:02d}" for i in range(12)]
DEVICES = ["mobile", "desktop", "tv"]
_USER_CHUNK = 512
LENGTH_EDGES = (4.0, 20.0)  # minutes: short < 4 <= medium < 20 <= long
LENGTHS = ("short", "medium", "long")
# Watch-time logit shift by device (mobile, desktop, tv) x length (short, medium, long).
DEVICE_LENGTH = np.array([[1.2, 0.0, -1.5], [0.0, 0.3, 0.0], [-1.5, 0.0, 1.2]])
START = 1_700_000_000  # the log's first second (day 0)
TRENDING_SHARE = 0.7  # of a drift's new videos, the share whose main topic is the trending one


def _power_law(rng: np.random.Generator, n: int, k: int, a: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** a
    return rng.choice(k, size=n, p=p / p.sum())


def _items(
    rng: np.random.Generator,
    n_items: int,
    dim: int,
    centroids: np.ndarray,
    skew: float,
    trending: int | None = None,
) -> dict:
    """Videos; with `trending` (a topic), most are about that topic (the new videos of a drift)."""
    n_topics = len(centroids)
    primary = _power_law(rng, n_items, n_topics, 0.6)
    if trending is not None:
        primary = np.where(rng.random(n_items) < TRENDING_SHARE, trending, primary)
    secondary = np.where(rng.random(n_items) < 0.4, rng.integers(0, n_topics, n_items), primary)
    tags = np.zeros((n_items, n_topics), np.int64)
    tags[np.arange(n_items), primary] = 1
    tags[np.arange(n_items), secondary] = 1
    n_creators = max(2, n_items // 8)
    creator = _power_law(rng, n_items, n_creators, 0.8)
    style = rng.normal(0.0, 1.0, (n_creators, dim)) / np.sqrt(dim)
    vectors = (tags @ centroids) / tags.sum(1, keepdims=True) + 0.5 * style[creator]
    vectors += 0.35 * rng.normal(0.0, 1.0, (n_items, dim)) / np.sqrt(dim)
    rank = rng.permutation(n_items)  # popularity rank, independent of taste
    popularity = -skew * np.log1p(rank)
    minutes = np.exp(rng.normal(np.log(6.0) + 0.15 * (primary % 5), 0.7))  # log-normal, topic-dependent
    return {"tags": tags, "creator": creator, "vectors": vectors, "popularity": popularity, "minutes": minutes}


def _users(rng: np.random.Generator, n_users: int, dim: int, centroids: np.ndarray, taste_noise: float) -> dict:
    n_topics = len(centroids)
    age = _power_law(rng, n_users, len(AGE_BUCKETS), 0.5)
    country = _power_law(rng, n_users, len(COUNTRIES), 1.0)
    gender = rng.choice(3, size=n_users, p=[0.48, 0.48, 0.04])
    device = rng.choice(len(DEVICES), size=n_users, p=[0.6, 0.25, 0.15])
    # Users of an age bucket share favourite topics: the features carry part of the taste.
    age_topic = rng.integers(0, n_topics, len(AGE_BUCKETS))
    favourite = np.where(rng.random(n_users) < 0.5, age_topic[age], _power_law(rng, n_users, n_topics, 0.6))
    second = rng.integers(0, n_topics, n_users)
    taste = centroids[favourite] + 0.5 * centroids[second]
    taste += 0.4 * rng.normal(0.0, 1.0, (len(COUNTRIES), dim))[country] / np.sqrt(dim)
    taste += taste_noise * rng.normal(0.0, 1.0, (n_users, dim)) / np.sqrt(dim)
    return {"age": age, "country": country, "gender": gender, "device": device, "taste": taste}


def _choose(
    rng: np.random.Generator,
    taste: np.ndarray,
    items: dict,
    counts: np.ndarray,
    temperature: float,
    available: np.ndarray | None = None,
    seen: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, affinity) of counts[u] videos per user u, drawn without replacement from
    softmax(affinity / temperature + popularity) by the Gumbel top-k trick; rows grouped by user, in user
    order. `available` (bool [I]) limits the choice to released videos, `seen` (bool [U, I]) leaves out
    videos a user already watched."""
    n_users = len(taste)
    rows_user, rows_item, rows_affinity = [], [], []
    for start in range(0, n_users, _USER_CHUNK):
        stop = min(n_users, start + _USER_CHUNK)
        affinity = taste[start:stop] @ items["vectors"].T
        logits = affinity / temperature + items["popularity"] + rng.gumbel(size=affinity.shape)
        if available is not None:
            logits[:, ~available] = -np.inf
        if seen is not None:
            logits[seen[start:stop]] = -np.inf
        top = int(counts[start:stop].max())
        if top == 0:
            continue
        chosen = np.argpartition(-logits, top - 1, axis=1)[:, :top]
        order = np.argsort(-np.take_along_axis(logits, chosen, 1), axis=1)
        chosen = np.take_along_axis(chosen, order, 1)
        keep = np.arange(top)[None, :] < counts[start:stop, None]
        user_idx = np.broadcast_to(np.arange(start, stop)[:, None], chosen.shape)[keep]
        rows_user.append(user_idx)
        rows_item.append(chosen[keep])
        rows_affinity.append(np.take_along_axis(affinity, chosen, 1)[keep])
    return np.concatenate(rows_user), np.concatenate(rows_item), np.concatenate(rows_affinity)


def _drifting_views(
    rng: np.random.Generator,
    users: dict,
    items: dict,
    centroids: np.ndarray,
    counts: np.ndarray,
    temperature: float,
    days: int,
    drift_from_day: int,
    new_items: int,
    trend: float,
    seed: int,
    skew: float,
    signup_share: float,
) -> tuple[dict, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The catalogue with the drift's new videos appended, and (user, item, affinity, day) of every view.

    A view's time is drawn first (as without drift: uniform between the user's signup and the end); views
    before `drift_from_day` choose among the old videos with the old tastes, the later ones among all
    videos with the tastes moved toward the trending topic. The trend's own draws come from a second
    generator, so the old videos and the users are those of the log without drift."""
    n_users, n_old = len(counts), len(items["minutes"])
    drng = np.random.default_rng([seed, 1])
    trending = int(drng.integers(0, len(TOPICS)))
    old_creators = max(2, n_old // 8)
    new = _items(drng, new_items, centroids.shape[1], centroids, skew, trending) if new_items else None
    items = dict(items, released=np.zeros(n_old, np.int64))
    if new is not None:
        new["creator"] = new["creator"] + old_creators  # new creators: ids after the old ones
        new["released"] = np.full(new_items, drift_from_day, np.int64)
        items = {k: np.concatenate([items[k], new[k]]) for k in items}
    signup = rng.uniform(0.0, days * signup_share, n_users)
    view_user = np.repeat(np.arange(n_users), counts)
    view_day = signup[view_user] + rng.uniform(0.0, 1.0, len(view_user)) * (days - signup[view_user])
    after = view_day >= drift_from_day
    n_after = np.bincount(view_user[after], minlength=n_users)
    old = np.arange(len(items["minutes"])) < n_old
    before_views = _choose(rng, users["taste"], items, counts - n_after, temperature, available=old)
    seen = np.zeros((n_users, len(old)), bool)
    seen[before_views[0], before_views[1]] = True
    taste = users["taste"] + trend * centroids[trending]
    after_views = _choose(rng, taste, items, n_after, temperature, seen=seen)
    days_of = []
    for phase in (~after, after):  # each phase's days grouped by user, as _choose groups its rows
        idx = np.flatnonzero(phase)
        days_of.append(view_day[idx[np.argsort(view_user[idx], kind="stable")]])
    views = tuple(np.concatenate([b, a]) for b, a in zip(before_views, after_views, strict=True))
    return items, (*views, np.concatenate(days_of))


def generate(
    n_users: int = 6000,
    n_items: int = 3000,
    interactions_per_user: int = 40,
    latent_dim: int = 16,
    popularity_skew: float = 0.8,
    temperature: float = 1.0,
    taste_noise: float = 1.0,
    days: int = 60,
    seed: int = 0,
    max_rows: int | None = None,
    drift_from_day: int | None = None,
    new_items: int = 0,
    trend: float = 0.0,
    signup_share: float = 0.7,
) -> InteractionTable:
    """The watch log; `max_rows` caps the interactions (by generating fewer users, then truncating).
    `drift_from_day`, `new_items`, `trend`: the opt-in drift of the module docstring. Users sign up
    uniformly over the first `signup_share` of the days and watch from then on: with the default the daily
    traffic grows ~10x over the log (a growing platform); 0 puts every user there from day 0 (each day's
    traffic alike, as a replay in daily windows wants, so only the planted drift changes the data)."""
    if min(n_users, n_items, interactions_per_user, latent_dim, days) <= 0:
        raise ValueError("n_users, n_items, interactions_per_user, latent_dim and days must be positive")
    if not 0 <= signup_share < 1:
        raise ValueError(f"signup_share must be in [0, 1), got {signup_share}")
    if drift_from_day is None and (new_items or trend):
        raise ValueError("new_items and trend describe a drift: set drift_from_day too")
    if drift_from_day is not None and not (0 < drift_from_day < days and new_items >= 0 and trend >= 0):
        raise ValueError(f"drift_from_day must be in 1..days-1 ({days - 1}); new_items and trend non-negative")
    rng = np.random.default_rng(seed)
    if max_rows is not None:
        n_users = max(20, min(n_users, max_rows // interactions_per_user + 1))
    centroids = rng.normal(0.0, 1.0, (len(TOPICS), latent_dim)) / np.sqrt(latent_dim) * 2.0
    items = _items(rng, n_items, latent_dim, centroids, popularity_skew)
    users = _users(rng, n_users, latent_dim, centroids, taste_noise)
    activity = np.exp(rng.normal(np.log(interactions_per_user) - 0.32, 0.8, n_users))
    counts = np.clip(np.round(activity), 3, max(3, n_items // 4)).astype(np.int64)

    if drift_from_day is None:
        user, item, affinity = _choose(rng, users["taste"], items, counts, temperature)
        day = None  # drawn after the watched fractions, as the log without drift always did
    else:
        items, (user, item, affinity, day) = _drifting_views(
            rng,
            users,
            items,
            centroids,
            counts,
            temperature,
            days,
            drift_from_day,
            new_items,
            trend,
            seed,
            popularity_skew,
            signup_share,
        )
        n_items = len(items["minutes"])

    # Watched fraction: a logistic function of the affinity relative to the user's own mean, the
    # device x length cross, and noise.
    if drift_from_day is None:
        centred = affinity - np.bincount(user, affinity, n_users)[user] / counts[user]
    else:  # against the user's views of the same period: a view before the trend is not judged by tastes after it
        group = 2 * user + (day >= drift_from_day)
        centred = (
            affinity
            - (np.bincount(group, affinity, 2 * n_users) / np.bincount(group, minlength=2 * n_users).clip(1))[group]
        )
    length = np.digitize(items["minutes"], LENGTH_EDGES)  # 0 short, 1 medium, 2 long
    cross = DEVICE_LENGTH[users["device"][user], length[item]]
    logit = 3.0 * centred / affinity.std() + cross + 0.2 + rng.normal(0.0, 0.8, len(user))
    fraction = 1.0 / (1.0 + np.exp(-logit))
    if day is None:
        signup = rng.uniform(0.0, days * signup_share, n_users)
        day = signup[user] + rng.uniform(0.0, 1.0, len(user)) * (days - signup[user])
    timestamp = (START + day * 86_400).astype(np.int64)
    order = np.argsort(timestamp, kind="stable")
    if max_rows is not None:
        order = order[:max_rows]

    interactions = pl.DataFrame(
        {
            "user": user[order] + 1,
            "item": item[order] + 1,
            "timestamp": timestamp[order],
            "strength": np.round(fraction[order], 4),
        }
    )
    user_frame = pl.DataFrame(
        {
            "user": np.arange(1, n_users + 1),
            "age_bucket": np.array(AGE_BUCKETS)[users["age"]],
            "gender": np.array(["f", "m", "unknown"])[users["gender"]],
            "country": np.array(COUNTRIES)[users["country"]],
            "device": np.array(DEVICES)[users["device"]],
        }
    )
    minutes = items["minutes"]
    item_frame = pl.DataFrame(
        {
            "item": np.arange(1, n_items + 1),
            "creator": [f"creator{c}" for c in items["creator"]],
            "length": np.array(LENGTHS)[np.digitize(minutes, LENGTH_EDGES)],
            "log_minutes": np.log(minutes),
            **{t: items["tags"][:, k] for k, t in enumerate(TOPICS)},
        }
    )
    if drift_from_day is not None:  # when each video exists (no model feature: what a catalogue knows)
        item_frame = item_frame.with_columns(pl.Series("released_at", START + items["released"] * 86_400))
    return InteractionTable(
        interactions=interactions,
        users=user_frame,
        items=item_frame,
        user_categorical=["age_bucket", "gender", "country", "device"],
        user_numeric=[],
        item_categorical=["creator", "length"],
        item_numeric=["log_minutes"],
        item_tags=list(TOPICS),
        strength="watch_fraction",
        source=f"watch_log_synthetic(seed={seed})",
    )
