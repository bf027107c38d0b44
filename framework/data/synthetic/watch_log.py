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


def _power_law(rng: np.random.Generator, n: int, k: int, a: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** a
    return rng.choice(k, size=n, p=p / p.sum())


def _items(rng: np.random.Generator, n_items: int, dim: int, centroids: np.ndarray, skew: float) -> dict:
    n_topics = len(centroids)
    primary = _power_law(rng, n_items, n_topics, 0.6)
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
) -> InteractionTable:
    """The watch log; `max_rows` caps the interactions (by generating fewer users, then truncating)."""
    if min(n_users, n_items, interactions_per_user, latent_dim, days) <= 0:
        raise ValueError("n_users, n_items, interactions_per_user, latent_dim and days must be positive")
    rng = np.random.default_rng(seed)
    if max_rows is not None:
        n_users = max(20, min(n_users, max_rows // interactions_per_user + 1))
    centroids = rng.normal(0.0, 1.0, (len(TOPICS), latent_dim)) / np.sqrt(latent_dim) * 2.0
    items = _items(rng, n_items, latent_dim, centroids, popularity_skew)
    users = _users(rng, n_users, latent_dim, centroids, taste_noise)
    activity = np.exp(rng.normal(np.log(interactions_per_user) - 0.32, 0.8, n_users))
    counts = np.clip(np.round(activity), 3, max(3, n_items // 4)).astype(np.int64)

    rows_user, rows_item, rows_affinity = [], [], []
    for start in range(0, n_users, _USER_CHUNK):
        stop = min(n_users, start + _USER_CHUNK)
        affinity = users["taste"][start:stop] @ items["vectors"].T
        logits = affinity / temperature + items["popularity"] + rng.gumbel(size=affinity.shape)
        top = int(counts[start:stop].max())
        chosen = np.argpartition(-logits, top - 1, axis=1)[:, :top]
        order = np.argsort(-np.take_along_axis(logits, chosen, 1), axis=1)
        chosen = np.take_along_axis(chosen, order, 1)
        keep = np.arange(top)[None, :] < counts[start:stop, None]
        user_idx = np.broadcast_to(np.arange(start, stop)[:, None], chosen.shape)[keep]
        rows_user.append(user_idx)
        rows_item.append(chosen[keep])
        rows_affinity.append(np.take_along_axis(affinity, chosen, 1)[keep])
    user = np.concatenate(rows_user)
    item = np.concatenate(rows_item)
    affinity = np.concatenate(rows_affinity)

    # Watched fraction: a logistic function of the affinity relative to the user's own mean, the
    # device x length cross, and noise.
    centred = affinity - np.bincount(user, affinity, n_users)[user] / counts[user]
    length = np.digitize(items["minutes"], LENGTH_EDGES)  # 0 short, 1 medium, 2 long
    cross = DEVICE_LENGTH[users["device"][user], length[item]]
    logit = 3.0 * centred / affinity.std() + cross + 0.2 + rng.normal(0.0, 0.8, len(user))
    fraction = 1.0 / (1.0 + np.exp(-logit))
    signup = rng.uniform(0.0, days * 0.7, n_users)
    day = signup[user] + rng.uniform(0.0, 1.0, len(user)) * (days - signup[user])
    timestamp = (1_700_000_000 + day * 86_400).astype(np.int64)
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
