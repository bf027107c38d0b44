"""A seeded, Criteo-shaped click log with planted structure: the ad click case's embedded default.

Shape: label, 13 integer counts (I1..I13, heavy-tailed, some negative, missing at Criteo-like rates),
26 categorical ids (C1..C26, 32-bit hash-like values with power-law frequencies, some fields often
missing). Rows are in time order.

What a model can learn (the planted click model, on the logit scale):
- first-order effects of every id (what logistic regression captures);
- pairwise crosses between fields, <u_i[x_i], u_j[x_j]>, and one three-way cross
  (what FM, DeepFM, DCN capture and logistic regression cannot);
- non-linear numeric effects and a numeric x categorical cross;
- a week of daily cycles of the base rate (`days` of them), and drift: each day the popular ids of large
  fields lose ground to new ones, so valid/test contain ids the train split never saw. Day
  `drift_from_day` (default 1) is the first that differs from the days before it: with d > 1 days 0..d-1
  are stationary, a planted change point (what `framework/monitoring` measures detection delay and false
  alarms against). `change` > 0 adds a sudden change on that day, after which the log is as stationary as
  `drift` lets it be (a new season and ad inventory overnight): the large fields' ids jump to new ones
  (change x 5% of each field: what PSI on features sees) and the latent vectors behind the planted crosses
  move toward fresh ones (what users like about ads changes: only labels, or the loss, reveal it). A model
  trained before the change mispredicts until it is retrained on data after it.
The base rate is calibrated to `base_ctr`; Bernoulli sampling and a hidden noise term make the labels noisy.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data.tabular.table import RawTable

NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
# Distinct ids per field (before drift adds new ones), mixed like Criteo's: a few tiny fields, many large.
CARDINALITIES = (
    1400,
    550,
    300000,
    120000,
    280,
    20,
    12000,
    600,
    3,
    90000,
    5000,
    250000,
    3100,
    26,
    10000,
    200000,
    10,
    4500,
    2000,
    4,
    220000,
    15,
    15,
    40000,
    80,
    35000,
)
ZIPF = (
    1.2,
    1.1,
    1.05,
    1.1,
    1.3,
    1.2,
    1.1,
    1.2,
    1.5,
    1.05,
    1.1,
    1.05,
    1.2,
    1.3,
    1.1,
    1.05,
    1.4,
    1.1,
    1.2,
    1.5,
    1.05,
    1.3,
    1.3,
    1.1,
    1.2,
    1.1,
)
CAT_MISSING = (
    0,
    0,
    0.44,
    0.03,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0.44,
    0,
    0,
    0,
    0.44,
    0,
    0,
    0,
    0,
    0.76,
    0,
    0.2,
    0.44,
    0,
    0,
)
NUM_MISSING = (0.45, 0.0, 0.21, 0.22, 0.03, 0.23, 0.04, 0.0, 0.04, 0.45, 0.04, 0.77, 0.22)
# Planted crosses: field index pairs (0-based), mostly among fields small enough to learn from ~10^5 rows.
CROSSES = ((5, 13), (1, 8), (4, 21), (7, 19), (24, 22), (16, 1), (13, 24), (5, 4), (0, 5), (18, 22))
TRIPLE = (8, 16, 21)
LATENT = 4
DAYS = 7  # the log covers a week


def _daily_shift(k: int, drift: float) -> int:
    return int(drift * 0.01 * k) if k >= 1000 else 0


def _change_shift(k: int, change: float) -> int:
    """The one-off jump of a large field's popularity ranks at the sudden change: a new ad inventory."""
    return int(change * 0.05 * k) if k >= 1000 else 0


def _power_law_ranks(rng: np.random.Generator, n: int, k: int, a: float) -> np.ndarray:
    """Ranks 0..k-1 with P(rank) ~ (rank+1)^-a, by inverting the continuous power-law CDF (O(1) per draw)."""
    u = rng.random(n)
    top = (k + 1.0) ** (1.0 - a)
    ranks = np.floor((1.0 + u * (top - 1.0)) ** (1.0 / (1.0 - a))) - 1.0
    return np.clip(ranks, 0, k - 1).astype(np.int64)


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-12)


def generate(
    n_rows: int = 1_000_000,
    max_rows: int | None = None,
    seed: int = 0,
    base_ctr: float = 0.12,
    drift: float = 0.3,
    cross_strength: float = 0.6,
    noise: float = 0.5,
    days: int = DAYS,
    drift_from_day: int = 1,
    change: float = 0.0,
) -> RawTable:
    """Generate the click log (the first `max_rows` rows of an `n_rows` log when max_rows is set), `days`
    days long, drifting from day `drift_from_day` on (1: from the second day, as the log always did)."""
    if n_rows < 10:
        raise ValueError("n_rows must be at least 10")
    if not 0.0 <= change <= 1.0:
        raise ValueError(f"change must be in [0, 1] (0: none, 1: entirely new cross effects), got {change}")
    if days < 2 or not 1 <= drift_from_day < days:
        raise ValueError(
            f"need days >= 2 and 1 <= drift_from_day < days, got days={days}, drift_from_day={drift_from_day}"
        )
    n = n_rows if max_rows is None else min(n_rows, max_rows)
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) / n_rows  # position in time, 0..1

    # Categorical ids: power-law ranks. Drift: every day, the popularity ranks of large fields (ads, users,
    # sites: >= 1000 ids) move by drift x 1% of the field, so yesterday's head loses ground and new ids appear.
    # The sudden change (change > 0) also turns the inventory over once: ranks jump by change x 5% of the field.
    day = np.floor(t * days).astype(np.int64)
    drifted_days = np.maximum(day - (drift_from_day - 1), 0)  # day d: 1
    changed = day >= drift_from_day
    ids = np.empty((n, len(CARDINALITIES)), dtype=np.int64)
    for f, (k, a) in enumerate(zip(CARDINALITIES, ZIPF, strict=True)):
        ids[:, f] = _power_law_ranks(rng, n, k, a) + drifted_days * _daily_shift(k, drift)  # may exceed k: new ids
        if change > 0:
            ids[changed, f] += _change_shift(k, change)

    # Effects are functions of the id (seeded per field), so they are stationary while popularity drifts.
    def id_effects(field: int, dim: int, scale: float, salt: int = 0) -> np.ndarray:
        k = CARDINALITIES[field]
        k += days * _daily_shift(k, drift) + _change_shift(k, change) + 1
        return np.random.default_rng((seed, field, dim, salt)).normal(0.0, scale, size=(k, dim))

    # Integer counts: log-normal, I2 shifted to allow Criteo's negative values.
    mu = rng.uniform(0.5, 4.0, size=13)
    sigma = rng.uniform(0.8, 1.8, size=13)
    counts = np.floor(np.exp(rng.normal(mu, sigma, size=(n, 13)))).astype(np.int64)
    counts[:, 1] -= 3
    parts = _click_logit_parts(
        ids, counts, t, mu, seed, drift, cross_strength, id_effects, days, drift_from_day, change
    )
    logit = sum(parts.values()) + rng.normal(0.0, noise, size=n)  # + what no feature explains
    logit += _calibrate(logit, base_ctr)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    columns: dict[str, pl.Series] = {"label": pl.Series("label", label)}
    for f, name in enumerate(NUMERIC):
        mask = rng.random(n) < NUM_MISSING[f]
        columns[name] = pl.Series(name, counts[:, f]).scatter(np.flatnonzero(mask), None)
    for f, name in enumerate(CATEGORICAL):
        hashed = ((ids[:, f] * 2654435761 + f * 40503) % (1 << 32)).astype(np.uint32)  # bijective per field
        mask = rng.random(n) < CAT_MISSING[f]
        columns[name] = pl.Series(name, hashed).scatter(np.flatnonzero(mask), None)
    return RawTable(pl.DataFrame(columns), "label", NUMERIC, CATEGORICAL, source=f"click_log_synthetic(seed={seed})")


def _click_logit_parts(
    ids, counts, t, mu, seed, drift, cross_strength, id_effects, days=DAYS, drift_from_day=1, change=0.0
) -> dict[str, np.ndarray]:
    """The planted click model, one logit term per kind of structure (tests and docs measure each)."""
    n = len(t)
    first = np.zeros(n)
    for f, k in enumerate(CARDINALITIES):
        first += id_effects(f, 1, 0.35 if k < 1000 else 0.1)[ids[:, f], 0]  # rare ids: small, mostly unlearnable
    changed = np.floor(t * days) >= drift_from_day if change > 0 else np.zeros(n, dtype=bool)

    def latent(field: int) -> np.ndarray:
        """Each row's latent vector of its id in `field`: after the change, mixed with a fresh one (the
        variance kept, so only the direction of the taste moves)."""
        old = id_effects(field, LATENT, 1.0)[ids[:, field]]
        if not changed.any():
            return old
        fresh = id_effects(field, LATENT, 1.0, salt=2)[ids[changed, field]]
        old[changed] = np.sqrt(1.0 - change**2) * old[changed] + change * fresh
        return old

    pairs = np.zeros(n)
    for i, j in CROSSES:
        pairs += cross_strength * _zscore(np.einsum("nd,nd->n", latent(i), latent(j)))
    a, b, c = (id_effects(f, LATENT, 1.0) for f in TRIPLE)
    triple = cross_strength * _zscore(
        np.einsum("nd,nd,nd->n", a[ids[:, TRIPLE[0]]], b[ids[:, TRIPLE[1]]], c[ids[:, TRIPLE[2]]])
    )
    logs = np.log1p(np.maximum(counts, 0))
    # The fade runs from the log's first row by default (as it always did); after stationary days, from day d.
    faded = t if drift_from_day == 1 else np.maximum(t - drift_from_day / days, 0.0)
    numeric = 0.6 * (1.0 - drift * faded) * np.tanh(logs[:, 0] - mu[0])  # monotone, fading (concept drift)
    numeric -= 0.35 * _zscore(logs[:, 4]) ** 2  # U-shaped: linear models cannot fit it
    numeric_x_cat = 0.3 * _zscore(logs[:, 2]) * id_effects(5, 1, 1.0, salt=1)[ids[:, 5], 0]
    daily = 0.25 * np.sin(2 * np.pi * days * t)  # a daily cycle of the base rate
    return {
        "first_order": first,
        "pairwise": pairs,
        "triple": triple,
        "numeric": numeric,
        "numeric_x_categorical": numeric_x_cat,
        "daily_cycle": daily,
    }


def _calibrate(logit: np.ndarray, target: float) -> float:
    """The offset b with mean(sigmoid(logit + b)) = target, by bisection."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(logit + mid)))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
