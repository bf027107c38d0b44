"""Seeded users, events and candidate lists, for the event-recommendation case (learning to rank).

The world. A city of `n_neighbourhoods` neighbourhoods (centres in a 40 x 40 km square, homes spread
2.5 km around them). Users have a home, a daily rhythm (evening or daytime person, half each), a weekday
habit (weekend or weekday person, half each), category tastes (Dirichlet(0.5) over `n_categories`) and
friends (each user asks 10 others, three in four from their own neighbourhood; the graph is made
symmetric: about 20 friends each). `n_hosts` of the users host events; a host has a latent popularity
(log-normal, sigma 0.8). An event has a host, a venue near the host's home, a category, a latent appeal
(normal), a start day over `days` days and a local start hour (evenings 18-22 h for 55 %, else 9-17 h).

Candidates. Each user is shown `candidates_per_user` distinct events (Gumbel top-k: half the weight on
nearby events, exp(-distance / 3 km), half on appealing ones), 0.5-21 days before they start, at an hour
of the user's rhythm (80 % of the time), so the hour a user browses hints at the hour they like.

The label "interested" is Bernoulli(sigmoid(logit)), the logit a sum of planted effects (defaults):

    group       effect                                                          coefficient
    location    distance home -> venue, per 5 km                                -1.2  (distance_effect)
    social      per friend who said yes (at most 4)                             +0.7  (friend_effect)
                invited                                                         +1.2  (invited_effect)
                per friend invited (at most 3)                                  +0.2  (friends_invited_effect)
    category    true taste for the category x n_categories (mean 1, cut at 4)   +0.65 (category_effect)
    time        start hour matches the rhythm (evening vs day)                  +1.4  (hour_match_effect)
                weekday matches the habit (Sat/Sun vs Mon-Fri)                  +0.4  (weekday_match_effect)
                per week of lead time                                           -0.35 (lead_effect)
    host        log host popularity                                             +0.45 (host_effect)
                the host is a friend                                            +0.6  (host_friend_effect)
    popularity  the event's latent appeal (standard normal)                     +0.2  (popularity_effect)
    (noise)     normal, per row                                                 sd 0.5 (noise)

plus `base` (-1.1): about 29 % positives (28-31 % over seeds 0-3), 99.9 % of users have one. Friends'
decisions use the distance, category, host and popularity effects above with their own base (-2.8).
The hour effect is learnable only through `seen_hour` (a user browses at the hours they like), the weekday
habit not at all (no feature shows it). Dropping one feature group from LightGBM (binary, 200 trees, 70 %
of users to train) costs, in nDCG@10 over seeds 0-3: location 0.07-0.08, social 0.036-0.040, category
0.027-0.030, time 0.010-0.016, host 0.006-0.010, popularity under 0.004: the planted order.

Users also differ in how readily they mark anything "interested": a per-user `activity` (normal, sd
`activity_sd`) adds to every logit of the user, unseen by the models; with `sociability` > 0 the active
users also have more friends (friend asks ~ Poisson(10 exp(sociability * activity))), so across users
`friends_yes` goes with activity. A pointwise loss fits that between-user correlation (it must explain
each user's level); pair- and listwise losses compare events within a list, where the level cancels.
The case's dataset config sets activity_sd 1.0, sociability 0.5 (the function's defaults: 0, off).

Observable features (what a model gets; the latent values stay hidden), the same as the Kaggle reader's:
`distance_km`; `event_hour`, `event_weekday` (0 = Monday), `lead_days`, `seen_hour`; `invited`,
`friends_yes`, `friends_invited` (friends' decisions use the same kind of model, drawn once per
(friend, event) by a seeded hash so every list sees the same ones); `host_popularity` (log1p of the mean
'yes' count of the host's events, a Poisson draw around 4 x the host's popularity), `host_is_friend`;
`event_popularity` (log1p of how many users were shown the event); `category` and `category_affinity`
(the share of the user's 20 past events, drawn from their true tastes, in the event's category: a noisy
estimate). `time` is when the candidate was shown, in days since 1970 (the world starts 2012-09-01).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data.ranking.table import QueryTable

START_DAY = 15584  # 2012-09-01, in days since 1970-01-01 (a Saturday)
NUMERIC = [
    "distance_km",
    "event_hour",
    "lead_days",
    "seen_hour",
    "invited",
    "friends_yes",
    "friends_invited",
    "host_popularity",
    "host_is_friend",
    "event_popularity",
    "category_affinity",
]
CATEGORICAL = ["event_weekday", "category"]
GROUPS = {
    "location": ["distance_km"],
    "time": ["event_hour", "event_weekday", "lead_days", "seen_hour"],
    "social": ["invited", "friends_yes", "friends_invited"],
    "host": ["host_popularity", "host_is_friend"],
    "popularity": ["event_popularity"],
    "category": ["category", "category_affinity"],
}
HISTORY = 20  # past events per user, for category_affinity


def _uniform_hash(a: np.ndarray, b: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) number per (a, b) pair, the same wherever the pair occurs (splitmix64)."""
    x = (a.astype(np.uint64) << np.uint64(32)) ^ b.astype(np.uint64) ^ np.uint64(salt)
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate(
    n_users: int = 3000,
    n_events: int = 2000,
    n_hosts: int = 300,
    n_categories: int = 12,
    candidates_per_user: int = 24,
    days: int = 120,
    seed: int = 0,
    max_rows: int | None = None,
    n_neighbourhoods: int = 8,
    base: float = -1.1,
    distance_effect: float = -1.2,
    friend_effect: float = 0.7,
    invited_effect: float = 1.2,
    friends_invited_effect: float = 0.2,
    category_effect: float = 0.65,
    hour_match_effect: float = 1.4,
    weekday_match_effect: float = 0.4,
    lead_effect: float = -0.35,
    host_effect: float = 0.45,
    host_friend_effect: float = 0.6,
    popularity_effect: float = 0.2,
    noise: float = 0.5,
    activity_sd: float = 0.0,
    sociability: float = 0.0,
) -> QueryTable:
    if candidates_per_user > n_events:
        raise ValueError(f"candidates_per_user ({candidates_per_user}) exceeds n_events ({n_events})")
    if not 0 < n_hosts <= n_users:
        raise ValueError(f"n_hosts must be in 1..n_users ({n_users}), got {n_hosts}")
    rng = np.random.default_rng(seed)
    salt = int(rng.integers(1 << 62))  # for the hashed (friend, event) decisions

    # users: home, rhythm, habit, tastes, history
    centres = rng.uniform(5.0, 35.0, size=(n_neighbourhoods, 2))
    hood = rng.choice(n_neighbourhoods, size=n_users, p=rng.dirichlet(np.full(n_neighbourhoods, 3.0)))
    home = centres[hood] + rng.normal(0.0, 2.5, size=(n_users, 2))
    evening_person = rng.random(n_users) < 0.5
    weekend_person = rng.random(n_users) < 0.5
    taste = rng.dirichlet(np.full(n_categories, 0.5), size=n_users)
    history = rng.multinomial(HISTORY, taste / taste.sum(1, keepdims=True))  # [users, categories]

    # activity: how readily a user marks anything "interested"; sociable users (more friends) are the active ones
    activity = rng.normal(0.0, 1.0, size=n_users) * activity_sd
    # friends: 10 asks each (more for active users when sociability > 0), 3/4 within the neighbourhood, symmetric
    asks = rng.poisson(10.0 * np.exp(sociability * activity)) if sociability else np.full(n_users, 10)
    by_hood = np.argsort(hood, kind="stable")
    hood_start = np.searchsorted(hood[by_hood], np.arange(n_neighbourhoods))
    hood_size = np.bincount(hood, minlength=n_neighbourhoods)
    asker = np.repeat(np.arange(n_users), asks)
    local = by_hood[hood_start[hood[asker]] + (rng.random(len(asker)) * hood_size[hood[asker]]).astype(np.int64)]
    friend = np.where(rng.random(len(asker)) < 0.75, local, rng.integers(n_users, size=len(asker)))
    pairs = np.unique(np.r_[asker * n_users + friend, friend * n_users + asker])
    pairs = pairs[pairs // n_users != pairs % n_users]  # sorted keys u * n_users + v, both directions
    friend_of, friend_to = pairs // n_users, pairs % n_users
    friend_start = np.searchsorted(friend_of, np.arange(n_users + 1))

    def are_friends(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        key = u * n_users + v
        at = np.minimum(np.searchsorted(pairs, key), len(pairs) - 1)
        return pairs[at] == key

    # hosts and events
    host_user = rng.choice(n_users, size=n_hosts, replace=False)
    host_pop = rng.lognormal(0.0, 0.8, size=n_hosts)
    event_host = rng.integers(n_hosts, size=n_events)
    venue = home[host_user[event_host]] + rng.normal(0.0, 2.0, size=(n_events, 2))
    category = rng.integers(n_categories, size=n_events)
    appeal = rng.normal(0.0, 1.0, size=n_events)
    evening_event = rng.random(n_events) < 0.55
    start_hour = np.where(evening_event, rng.integers(18, 23, n_events), rng.integers(9, 18, n_events))
    start = START_DAY + rng.integers(days, size=n_events) + (start_hour + rng.random(n_events) * 0.5) / 24.0
    weekday = (np.floor(start).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekend_event = weekday >= 5
    yes_count = rng.poisson(4.0 * host_pop[event_host])
    host_mean_yes = np.bincount(event_host, weights=yes_count, minlength=n_hosts) / np.maximum(
        np.bincount(event_host, minlength=n_hosts), 1
    )

    # candidates: Gumbel top-k of 1/2 nearby + 1/2 appealing, per block of users
    k = candidates_per_user
    by_appeal = np.exp(appeal)
    by_appeal /= by_appeal.sum()
    shown = np.empty((n_users, k), dtype=np.int64)
    for lo in range(0, n_users, 1024):
        hi = min(lo + 1024, n_users)
        d = np.sqrt(((home[lo:hi, None, :] - venue[None, :, :]) ** 2).sum(-1))
        near = np.exp(-d / 3.0)
        weight = 0.5 * near / near.sum(1, keepdims=True) + 0.5 * by_appeal
        keys = np.log(weight) + rng.gumbel(size=weight.shape)
        shown[lo:hi] = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    user = np.repeat(np.arange(n_users), k)
    event = shown.ravel()
    n = len(user)

    # when it was shown: an hour of the user's rhythm (80 %), 0.5-21 days before the start
    rhythm_hour = np.where(evening_person[user], rng.integers(17, 24, n), rng.integers(7, 17, n))
    other_hour = np.where(evening_person[user], rng.integers(7, 17, n), rng.integers(17, 24, n))
    seen_hour = np.where(rng.random(n) < 0.8, rhythm_hour, other_hour)
    seen_day = np.floor(start[event] - rng.uniform(0.5, 21.0, n))
    seen = seen_day + (seen_hour + rng.random(n)) / 24.0
    seen = np.where(seen >= start[event], seen - 1.0, seen)
    lead = start[event] - seen

    # observables
    distance = np.sqrt(((home[user] - venue[event]) ** 2).sum(1))
    host = host_user[event_host[event]]
    host_is_friend = are_friends(user, host)
    invited = rng.random(n) < 0.07 + 0.3 * host_is_friend
    # friends' decisions: one hashed draw per (friend, event), by the same kind of model
    degree = np.diff(friend_start)[user]
    row = np.repeat(np.arange(n), degree)
    f = friend_to[
        np.repeat(friend_start[user], degree) + np.arange(degree.sum()) - np.repeat(np.cumsum(degree) - degree, degree)
    ]
    e = event[row]
    d_friend = np.sqrt(((home[f] - venue[e]) ** 2).sum(1))
    goes = _sigmoid(
        -2.8
        + distance_effect * d_friend / 5.0
        + category_effect * np.minimum(taste[f, category[e]] * n_categories, 4.0)
        + host_effect * np.log(host_pop[event_host[e]])
        + popularity_effect * appeal[e]
    )
    friend_yes = _uniform_hash(f, e, salt) < goes
    friend_invited = _uniform_hash(f, e, salt ^ 0x5BD1E995) < 0.01 + 0.15 * are_friends(f, host_user[event_host[e]])
    friends_yes = np.bincount(row, weights=friend_yes, minlength=n)
    friends_invited = np.bincount(row, weights=friend_invited, minlength=n)
    times_shown = np.bincount(event, minlength=n_events)

    logit = (
        base
        + distance_effect * distance / 5.0
        + friend_effect * np.minimum(friends_yes, 4)
        + invited_effect * invited
        + friends_invited_effect * np.minimum(friends_invited, 3)
        + category_effect * np.minimum(taste[user, category[event]] * n_categories, 4.0)
        + hour_match_effect * (evening_event[event] == evening_person[user])
        + weekday_match_effect * (weekend_event[event] == weekend_person[user])
        + lead_effect * lead / 7.0
        + host_effect * np.log(host_pop[event_host[event]])
        + host_friend_effect * host_is_friend
        + popularity_effect * appeal[event]
        + activity[user]
        + noise * rng.normal(size=n)
    )
    label = rng.random(n) < _sigmoid(logit)

    frame = pl.DataFrame(
        {
            "query": user.astype(np.int64),
            "item": event.astype(np.int64),
            "time": seen,
            "label": label.astype(np.float32),
            "distance_km": distance,
            "event_hour": start_hour[event].astype(np.float64),
            "lead_days": lead,
            "seen_hour": seen_hour.astype(np.float64),
            "invited": invited.astype(np.float64),
            "friends_yes": friends_yes,
            "friends_invited": friends_invited,
            "host_popularity": np.log1p(host_mean_yes[event_host[event]]),
            "host_is_friend": host_is_friend.astype(np.float64),
            "event_popularity": np.log1p(times_shown[event]).astype(np.float64),
            "category_affinity": history[user, category[event]] / HISTORY,
            "event_weekday": weekday[event],
            "category": category[event].astype(np.int64),
        }
    ).sort(["query", "time"], maintain_order=True)
    if max_rows is not None and max_rows < frame.height:
        frame = frame.head(max(max_rows // k * k, min(max_rows, k)))  # whole users where possible
    info = {
        "users": n_users,
        "events": n_events,
        "positive_rate": round(float(frame["label"].mean()), 4),
        "mean_friends": round(len(pairs) / n_users, 2),
    }
    return QueryTable(
        frame,
        list(NUMERIC),
        list(CATEGORICAL),
        {g: list(c) for g, c in GROUPS.items()},
        source="events_synthetic",
        info=info,
    )
