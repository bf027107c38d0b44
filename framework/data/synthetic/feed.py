"""Seeded feed requests with six reactions per shown post, for the personalized-news-feed case (multi-task).

The world. `n_authors` authors with a latent popularity (log-normal, sigma 0.8) and a main topic; `n_posts`
posts, each by an author (drawn by popularity^0.5), in the author's main topic (60 %) or any of `n_topics`,
in a format (text 40 %, image 30 %, video 20 %, link 10 %), created at a uniform time over the `days` of the
window and the 3 days before it. `n_users` users with topic tastes (Dirichlet(0.5)), an activity level
(log-normal, sigma 0.5, mean 1) and followed authors (Poisson(6 x activity) + 1 follows, drawn by
popularity). A user opens the feed 1 + Poisson((`requests_per_user` - 1) x activity) times, at a uniform day
of the window and an hour from a day curve (peaks at 8 h and 20 h); each request shows `posts_per_request`
distinct posts created before it (up to 7 x `recency_days` old, older only when too few are newer), drawn by
Gumbel top-k with weight exp(-age / `recency_days`) x (1 + 3 follows the author) x (0.25 + `n_topics` x taste
for the topic): recent posts, followed authors and liked topics first.

Tasks, in head order: `click`, `like`, `comment`, `share`, `hide` (binary) and `dwell` (seconds on the post,
regression, null unless clicked). Their relations follow the synthetic protocol of the MMoE paper (Ma et al.,
KDD 2018, sec. 3.2) inside the feed:

1. Every row has a latent input x in R^`latent_dim` (8): a sum of per-field latent vectors (N(0, 1) per
   dimension, times the scale below) and of scalar effects s, each entering as s x scale x a direction of norm
   sqrt(latent_dim); the taste, follows, freshness and popularity directions have cosine 0.6 to u0 (below),
   so they draw clicks, the others are random. Then x is whitened over the rows (symmetric whitening: mean 0,
   covariance I, as the paper's x ~ N(0, I)). Every part is a function of what a model sees:

       part        what                                                scale     seen through
       user        a vector per user                                   0.8       `user` (id)
       activity    log activity (sd 0.5)                               1.0       `user_activity`, `user`
       author      a vector per author                                 0.6       `author` (id)
       popularity  log author popularity (sd 0.8)                      0.6  u0   `author_followers`, `author`
       post        a vector per post                                   0.5       `post` (id)
       topic       a vector per topic                                  0.7       `topic`
       format      a vector per format                                 0.7       `format`
       affinity    log(n_topics x taste for the topic + 0.1),          1.0  u0   `topic_affinity` (noisy), `user`
                   standardised                                                  x `topic` (embeddings)
       follows     the user follows the author (0/1)                   0.8  u0   `follows_author`
       freshness   exp(-post age / 24 h)                               0.8  u0   `post_age_hours`
       evening     the request is at 18-23 h                           0.5       `hour_of_day`

2. Orthonormal unit vectors u0, u_like, u_comment, u_share, u_hide (a random rotation). Task directions, with
   rho = `task_correlation` (the one knob for how related the tasks are) and h = `hide_conflict`:

       click    w = u0
       like     w = rho u0 + sqrt(1 - rho^2) u_like          cos(click, like) = rho, cos(like, comment) = rho^2
       comment  w = rho u0 + sqrt(1 - rho^2) u_comment
       share    w = rho u0 + sqrt(1 - rho^2) u_share
       hide     w = -h u0 + sqrt(1 - h^2) u_hide             clickbait: clicked, then hidden
       dwell    w = u0 (the click score)

3. The task's score is the paper's z = w'x + sum_{j=1..10} sin(alpha_j w'x + beta_j), the same alpha_j ~
   N(0, `alpha_sd`^2), beta_j ~ N(0, `beta_sd`^2) for every task, drawn once per seed, then standardised over
   the rows. The paper gives no values. The default sd 0.1 (variance 0.01) keeps z nearly linear in w'x, so the
   latent correlation is rho itself; with sd 0.5 or more the sines dominate, differently from seed to seed (the
   R^2 of z on w'x spans 0.07-0.98 over seeds at sd 0.5) and can even flip the sign of click-hide. Google
   Research's reproduction takes alpha_j = j, beta_j = j^2 (mostly high-frequency wiggle).
4. A binary label is Bernoulli(sigmoid(`scale` z + base + `noise` e)), scale 1.5, e ~ N(0, 1) per row and task;
   each base is found by bisection so that the expected rate over the generated rows is the task's target
   (`click_rate` ...), so rho moves no rate. The reactions are drawn independently given x (a like needs no
   click), as in the paper. dwell = exp(log 30 + 0.4 z_click + 0.6 e) seconds on the clicked rows, else null.

For a seed, every random draw is the same at any rho: the world, x, click and hide stay put and only the
like, comment and share directions turn (paired comparisons across rho).

Measured at the defaults, seeds 0-2 (301-304k rows, about 15.1k requests, 1.5-3 s on one core):

    rates            click 19.9-20.1 %, like 7.9-8.1 %, comment 3.0 %, share 1.9-2.0 %, hide 2.0 %
    dwell            median 42-43 s on clicked rows (10 % under 18 s, 10 % over 103 s)
    latent corr.     click with like/comment/share = rho (to 0.005), with hide -0.60
    label phi        rho 0.1: click-like 0.017, click-comment 0.007-0.013, click-share 0.006-0.009
                     rho 0.5: 0.083-0.087, 0.052-0.057, 0.044-0.054
                     rho 0.8: 0.142-0.146, 0.095-0.096, 0.079-0.089; like-comment 0.063-0.075
                     rho 0.9: 0.161-0.166, 0.109-0.112, 0.093-0.100; like-comment 0.088-0.097
                     click-hide -0.039 to -0.044 at h 0.6 (any rho)
    oracle ROC-AUC   of the noiseless z: 0.81 (click) to 0.85 (hide), in `info["oracle_auc"]`
    LightGBM AUC     binary, 100 trees, learning rate 0.1, 31 leaves, ids as categorical, 70 % of requests
                     to train, at rho 0.1 / 0.5 / 0.9: click 0.771-0.776, like 0.778-0.790, comment
                     0.753-0.775, share 0.742-0.774, hide 0.748-0.771 (rho moves none of them by more than
                     the seed does)

Observable features (the latent values stay hidden). Numeric: `post_age_hours` (request time - creation),
`author_followers` (log1p of the author's follower count), `follows_author` (0/1), `topic_affinity` (the share
of the user's 20 past engagements, drawn from their true tastes, in the post's topic: a noisy estimate),
`hour_of_day` (0-23), `user_activity` (log1p of the user's feed sessions last month, Poisson(20 x activity)).
Categorical: `user`, `post` (= `item`, the post id), `author`, `topic`, `format` (0 text, 1 image, 2 video,
3 link). `query` numbers the requests in time order; `time` is the request, in days since 1970 (the window
starts 2024-01-01).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data.feed.table import FeedTable

START_DAY = 19723  # 2024-01-01, in days since 1970-01-01
TASKS = {
    "click": "binary",
    "like": "binary",
    "comment": "binary",
    "share": "binary",
    "hide": "binary",
    "dwell": "regression",
}
NUMERIC = ["post_age_hours", "author_followers", "follows_author", "topic_affinity", "hour_of_day", "user_activity"]
CATEGORICAL = ["user", "post", "author", "topic", "format"]
FORMATS = ("text", "image", "video", "link")
FORMAT_SHARE = (0.4, 0.3, 0.2, 0.1)
HISTORY = 20  # past engagements per user, for topic_affinity
N_SINES = 10  # m in the MMoE paper
BACKLOG_DAYS = 3.0  # posts created before the window opens
ENGAGING = 0.6  # cosine to the click direction of taste, follows, freshness and popularity (they draw clicks)
WINDOW = 7.0  # candidates are at most this many recency_days old (weight exp(-7) = 0.001 at the edge)
DWELL_MEDIAN_S, DWELL_SLOPE, DWELL_SPREAD = 30.0, 0.4, 0.6
# relative request rate per hour of day: low at night, peaks at 8 h and 20 h
HOUR_CURVE = np.array([2, 1, 1, 1, 1, 2, 4, 7, 9, 7, 5, 5, 6, 5, 4, 4, 5, 6, 7, 9, 10, 9, 6, 4], dtype=np.float64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _base_for_rate(logit: np.ndarray, rate: float) -> float:
    """The shift b with mean(sigmoid(logit + b)) = rate (bisection; the mean rises with b)."""
    lo, hi = -30.0, 30.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if _sigmoid(logit + mid).mean() < rate:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _auc(label: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of `score` for a 0/1 `label` (rank sum; ties are rare for continuous scores)."""
    rank = np.argsort(np.argsort(score)) + 1.0
    n_pos = label.sum()
    return float((rank[label > 0].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(label) - n_pos)))


def _whiten(x: np.ndarray) -> np.ndarray:
    """Mean 0, covariance I over the rows; symmetric (ZCA), so directions move as little as possible."""
    x = x - x.mean(0)
    values, vectors = np.linalg.eigh(np.cov(x, rowvar=False))
    return x @ (vectors / np.sqrt(values)) @ vectors.T


def generate(
    n_users: int = 3000,
    n_posts: int = 2500,
    n_authors: int = 300,
    n_topics: int = 16,
    requests_per_user: int = 5,
    posts_per_request: int = 20,
    days: int = 28,
    task_correlation: float = 0.8,
    hide_conflict: float = 0.6,
    noise: float = 0.5,
    seed: int = 0,
    max_rows: int | None = None,
    latent_dim: int = 8,
    scale: float = 1.5,
    alpha_sd: float = 0.1,
    beta_sd: float = 0.1,
    recency_days: float = 1.5,
    click_rate: float = 0.2,
    like_rate: float = 0.08,
    comment_rate: float = 0.03,
    share_rate: float = 0.02,
    hide_rate: float = 0.02,
) -> FeedTable:
    if not -1.0 <= task_correlation <= 1.0 or not -1.0 <= hide_conflict <= 1.0:
        raise ValueError(
            f"task_correlation and hide_conflict must be in [-1, 1], got {task_correlation}, {hide_conflict}"
        )
    if latent_dim < 5:
        raise ValueError(f"latent_dim must be at least 5 (one direction per binary task), got {latent_dim}")
    if not 0 < posts_per_request <= n_posts:
        raise ValueError(f"posts_per_request must be in 1..n_posts ({n_posts}), got {posts_per_request}")
    if n_users < 1 or n_authors < 1 or n_topics < 1 or requests_per_user < 1 or days <= 0:
        raise ValueError("n_users, n_authors, n_topics, requests_per_user and days must be positive")
    rng = np.random.default_rng(seed)
    d, k = latent_dim, posts_per_request

    # authors and posts
    popularity = rng.lognormal(0.0, 0.8, size=n_authors)
    author_topic = rng.integers(n_topics, size=n_authors)
    by_pop = np.sqrt(popularity) / np.sqrt(popularity).sum()
    post_author = rng.choice(n_authors, size=n_posts, p=by_pop)
    post_topic = np.where(rng.random(n_posts) < 0.6, author_topic[post_author], rng.integers(n_topics, size=n_posts))
    post_format = rng.choice(len(FORMATS), size=n_posts, p=FORMAT_SHARE)
    created = rng.uniform(-BACKLOG_DAYS, days, size=n_posts)

    # users: tastes, history, activity, follows
    taste = rng.dirichlet(np.full(n_topics, 0.5), size=n_users)
    history = rng.multinomial(HISTORY, taste / taste.sum(1, keepdims=True))  # [users, topics]
    log_activity = rng.normal(-0.125, 0.5, size=n_users)  # activity = exp(.), mean 1
    activity = np.exp(log_activity)
    sessions_last_month = rng.poisson(20.0 * activity)
    n_follow = np.minimum(rng.poisson(6.0 * activity) + 1, n_authors)
    follows = np.zeros((n_users, n_authors), dtype=bool)
    keys = np.log(popularity)[None, :] + rng.gumbel(size=(n_users, n_authors))
    order = np.argsort(-keys, axis=1)
    follows[np.repeat(np.arange(n_users), n_follow), order[np.arange(n_authors)[None, :] < n_follow[:, None]]] = True
    followers = follows.sum(0)

    # requests: a user, a day, an hour of the day curve; in time order
    n_req = 1 + rng.poisson((requests_per_user - 1) * activity)
    req_user = np.repeat(np.arange(n_users), n_req)
    n_requests = len(req_user)
    hour = rng.choice(24, size=n_requests, p=HOUR_CURVE / HOUR_CURVE.sum())
    req_time = np.floor(rng.uniform(0.0, days, size=n_requests)) + (hour + rng.random(n_requests)) / 24.0
    kth_post = np.sort(created)[k - 1]  # a request needs k posts created before it
    req_time = np.maximum(req_time, kth_post + 1e-6)
    hour = np.floor(np.mod(req_time, 1.0) * 24.0).astype(np.int64)
    in_order = np.argsort(req_time, kind="stable")
    req_user, req_time, hour = req_user[in_order], req_time[in_order], hour[in_order]

    # candidates: Gumbel top-k over posts created before the request, by recency x follows x taste
    # (a block of requests looks at the posts up to WINDOW x recency_days older than its first request, or
    # further back when fewer than k are that recent)
    by_created = np.argsort(created, kind="stable")
    created_sorted = created[by_created]
    shown = np.empty((n_requests, k), dtype=np.int64)
    for lo in range(0, n_requests, 512):
        hi = min(lo + 512, n_requests)
        first = np.searchsorted(created_sorted, req_time[lo])
        start = max(0, min(np.searchsorted(created_sorted, req_time[lo] - WINDOW * recency_days), first - k))
        cand = by_created[start : np.searchsorted(created_sorted, req_time[hi - 1])]
        u = req_user[lo:hi]
        age = req_time[lo:hi, None] - created[cand][None, :]
        with np.errstate(divide="ignore"):
            logw = (
                np.where(age > 0, -age / recency_days, -np.inf)
                + np.log1p(3.0 * follows[u][:, post_author[cand]])
                + np.log(0.25 + n_topics * taste[u][:, post_topic[cand]])
            )
        top = np.argpartition(-(logw + rng.gumbel(size=logw.shape)), k - 1, axis=1)[:, :k]
        shown[lo:hi] = np.sort(cand[top], axis=1)
    query = np.repeat(np.arange(n_requests), k)
    user = req_user[query]
    post = shown.ravel()
    n = len(post)
    author, topic, fmt = post_author[post], post_topic[post], post_format[post]
    age_hours = (req_time[query] - created[post]) * 24.0
    follows_author = follows[user, author]

    # the latent input x: per-field vectors and scalar effects along random directions, whitened
    def vectors(count: int, sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, size=(count, d))

    # task directions (MMoE sec. 3.2): orthonormal u0 (click), u_like, u_comment, u_share, u_hide
    u0, u_like, u_comment, u_share, u_hide = np.linalg.qr(rng.normal(size=(d, d)))[0].T[:5]

    def along(effect: np.ndarray, sd: float, toward_click: float = 0.0) -> np.ndarray:
        """effect x a direction of norm sqrt(d): random, or with cosine `toward_click` to u0."""
        r = rng.normal(size=d)
        if toward_click:
            r -= (r @ u0) * u0
            r = toward_click * u0 + np.sqrt(1 - toward_click**2) * r / np.linalg.norm(r)
            r *= np.sqrt(d)
        return sd * effect[:, None] * r[None, :]

    affinity = np.log(n_topics * taste[user, topic] + 0.1)
    x = (
        vectors(n_users, 0.8)[user]
        + along(log_activity[user], 1.0)
        + vectors(n_authors, 0.6)[author]
        + along(np.log(popularity)[author], 0.6, ENGAGING)
        + vectors(n_posts, 0.5)[post]
        + vectors(n_topics, 0.7)[topic]
        + vectors(len(FORMATS), 0.7)[fmt]
        + along((affinity - affinity.mean()) / affinity.std(), 1.0, ENGAGING)
        + along(follows_author.astype(np.float64), 0.8, ENGAGING)
        + along(np.exp(-age_hours / 24.0), 0.8, ENGAGING)
        + along((hour[query] >= 18).astype(np.float64), 0.5)
    )
    x = _whiten(x)

    # task scores
    rho, conflict = task_correlation, hide_conflict
    directions = {
        "click": u0,
        "like": rho * u0 + np.sqrt(1 - rho**2) * u_like,
        "comment": rho * u0 + np.sqrt(1 - rho**2) * u_comment,
        "share": rho * u0 + np.sqrt(1 - rho**2) * u_share,
        "hide": -conflict * u0 + np.sqrt(1 - conflict**2) * u_hide,
    }
    alpha = rng.normal(0.0, alpha_sd, size=N_SINES)
    beta = rng.normal(0.0, beta_sd, size=N_SINES)
    rates = {"click": click_rate, "like": like_rate, "comment": comment_rate, "share": share_rate, "hide": hide_rate}
    labels: dict[str, np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    bases: dict[str, float] = {}
    oracle: dict[str, float] = {}
    for task, w in directions.items():
        s = x @ w
        z = s + np.sin(alpha[None, :] * s[:, None] + beta[None, :]).sum(1)
        z = (z - z.mean()) / z.std()
        logit = scale * z + noise * rng.normal(size=n)
        bases[task] = _base_for_rate(logit, rates[task])
        labels[task] = (rng.random(n) < _sigmoid(logit + bases[task])).astype(np.float32)
        scores[task] = z
        oracle[task] = _auc(labels[task], z)
    dwell = np.exp(np.log(DWELL_MEDIAN_S) + DWELL_SLOPE * scores["click"] + DWELL_SPREAD * rng.normal(size=n))
    dwell = np.where(labels["click"] > 0, dwell, np.nan).astype(np.float32)

    frame = pl.DataFrame(
        {
            "query": query.astype(np.int64),
            "user": user.astype(np.int64),
            "item": post.astype(np.int64),
            "time": START_DAY + req_time[query],
            **{task: labels[task] for task in directions},
            "dwell": dwell,
            "post_age_hours": age_hours,
            "author_followers": np.log1p(followers[author]).astype(np.float64),
            "follows_author": follows_author.astype(np.float64),
            "topic_affinity": history[user, topic] / HISTORY,
            "hour_of_day": hour[query].astype(np.float64),
            "user_activity": np.log1p(sessions_last_month[user]).astype(np.float64),
            "post": post.astype(np.int64),
            "author": author.astype(np.int64),
            "topic": topic.astype(np.int64),
            "format": fmt.astype(np.int64),
        }
    ).with_columns(pl.col("dwell").fill_nan(None))
    if max_rows is not None and max_rows < frame.height:
        frame = frame.head(max(max_rows // k * k, min(max_rows, k)))  # whole requests where possible
    click_score = scores["click"]
    info = {
        "users": n_users,
        "posts": n_posts,
        "requests": int(frame["query"].n_unique()),
        "positive_rate": {t: round(float(frame[t].mean()), 4) for t in directions},
        "base": {t: round(b, 3) for t, b in bases.items()},
        "oracle_auc": {t: round(a, 3) for t, a in oracle.items()},  # of the noiseless score, over all rows
        "latent_correlation_with_click": {
            t: round(float(np.corrcoef(click_score, scores[t])[0, 1]), 3) for t in directions if t != "click"
        },
    }
    return FeedTable(
        frame,
        dict(TASKS),
        list(NUMERIC),
        list(CATEGORICAL),
        source="feed_synthetic",
        info=info,
    )
