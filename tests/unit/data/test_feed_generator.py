"""The synthetic news feed: seeded, the FeedTable contract, whole requests, dwell only on clicks, label rates,
the task-correlation knob (MMoE protocol) and features that carry the signal."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from framework.data.feed.table import KEY_COLUMNS, FeedTable
from framework.data.synthetic.feed import CATEGORICAL, NUMERIC, TASKS, generate

SMALL = {"n_users": 400, "n_posts": 400, "n_authors": 50}  # about 40k rows, 0.2 s
BINARY = [t for t, kind in TASKS.items() if kind == "binary"]


@pytest.fixture(scope="module")
def table() -> FeedTable:
    return generate(seed=0, **SMALL)


def _phi(frame: pl.DataFrame, a: str, b: str) -> float:
    return float(np.corrcoef(frame[a].to_numpy(), frame[b].to_numpy())[0, 1])


def test_same_seed_same_rows_other_seed_other_rows(table) -> None:
    tiny = {"n_users": 100, "n_posts": 120, "n_authors": 20}
    assert generate(seed=3, **tiny).frame.equals(generate(seed=3, **tiny).frame)
    assert not generate(seed=4, **tiny).frame.equals(generate(seed=3, **tiny).frame)


def test_feed_table_contract(table) -> None:
    frame = table.frame
    assert isinstance(table, FeedTable)
    assert table.tasks == {
        "click": "binary",
        "like": "binary",
        "comment": "binary",
        "share": "binary",
        "hide": "binary",
        "dwell": "regression",
    }
    assert table.numeric == NUMERIC and table.categorical == CATEGORICAL
    others = [c for c in [*NUMERIC, *CATEGORICAL] if c not in KEY_COLUMNS]
    assert frame.columns == [*KEY_COLUMNS, *TASKS, *others]
    assert all(frame[c].dtype == pl.Int64 for c in ("query", "user", "item", *CATEGORICAL))
    assert frame["time"].dtype == pl.Float64 and all(frame[c].dtype == pl.Float64 for c in NUMERIC)
    assert all(frame[t].dtype == pl.Float32 for t in TASKS)
    nulls = {c: n for c, n in zip(frame.columns, frame.null_count().row(0), strict=True) if n}
    assert list(nulls) == ["dwell"]
    assert all(set(frame[t].unique()) <= {0.0, 1.0} for t in BINARY)
    # values
    assert frame["post"].equals(frame["item"], check_names=False)
    assert frame["post_age_hours"].min() > 0 and frame["topic_affinity"].is_between(0, 1).all()
    assert set(frame["follows_author"].unique()) <= {0.0, 1.0} and set(frame["format"].unique()) <= {0, 1, 2, 3}
    hour = np.floor(np.mod(frame["time"].to_numpy(), 1) * 24)
    assert np.array_equal(hour, frame["hour_of_day"].to_numpy())
    assert frame["time"].min() >= 19723 and frame["time"].max() < 19723 + 28


def test_every_request_is_whole_and_in_time_order(table) -> None:
    frame = table.frame
    per = frame.group_by("query").agg(
        pl.len(), pl.col("item").n_unique().alias("posts"), pl.col("user").n_unique(), pl.col("time").n_unique()
    )
    assert per["len"].unique().to_list() == [20] and per["posts"].unique().to_list() == [20]
    assert per["user"].unique().to_list() == [1] and per["time"].unique().to_list() == [1]
    assert frame["query"].is_sorted() and frame["time"].is_sorted()
    other = generate(seed=1, posts_per_request=7, requests_per_user=3, **SMALL).frame
    assert other.group_by("query").len()["len"].unique().to_list() == [7]


def test_dwell_exists_exactly_for_clicks(table) -> None:
    frame = table.frame
    clicked = frame["click"] == 1
    assert frame["dwell"].is_null().equals(~clicked, check_names=False)
    dwell = frame.filter(clicked)["dwell"]
    assert dwell.min() > 0 and 20 < dwell.median() < 60  # seconds


@pytest.mark.parametrize("seed", [0, 1])
def test_positive_rates(seed) -> None:
    frame = generate(seed=seed, **SMALL).frame
    expected = {"click": (0.18, 0.22), "like": (0.07, 0.09), "comment": (0.025, 0.035), "share": (0.016, 0.024)}
    expected["hide"] = (0.016, 0.024)
    for task, (lo, hi) in expected.items():
        assert lo <= frame[task].mean() <= hi, task


def test_max_rows_keeps_whole_requests() -> None:
    frame = generate(max_rows=1010, **SMALL).frame
    assert frame.height == 1000 and frame["query"].n_unique() == 50
    assert generate(max_rows=5, **SMALL).frame.height == 5


def test_task_correlation_knob() -> None:
    near = generate(task_correlation=0.9, seed=2, **SMALL)
    far = generate(task_correlation=0.1, seed=2, **SMALL)
    # the latent scores: near the planted cosines (the sines bend them a little)
    for task in ("like", "comment", "share"):
        assert near.info["latent_correlation_with_click"][task] == pytest.approx(0.9, abs=0.05)
        assert far.info["latent_correlation_with_click"][task] == pytest.approx(0.1, abs=0.05)
    assert near.info["latent_correlation_with_click"]["hide"] == pytest.approx(-0.6, abs=0.05)
    # the labels
    assert _phi(near.frame, "click", "like") > _phi(far.frame, "click", "like") + 0.08
    assert _phi(near.frame, "click", "comment") > _phi(far.frame, "click", "comment") + 0.04


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_click_and_hide_conflict(seed) -> None:
    frame = generate(seed=seed, **SMALL).frame
    assert _phi(frame, "click", "hide") < -0.02


def test_features_carry_signal(table) -> None:
    frame = table.frame
    # taste and follows draw clicks, and longer reads
    high, low = frame["topic_affinity"] >= 0.25, frame["topic_affinity"] <= 0.05
    follows = frame["follows_author"] > 0
    for task in ("click", "dwell"):
        assert frame.filter(high)[task].mean() > 1.1 * frame.filter(low)[task].mean(), task
        assert frame.filter(follows)[task].mean() > 1.1 * frame.filter(~follows)[task].mean(), task
    # every binary task is predictable from what a model sees: a naive additive score (smoothed per-value
    # log-odds of the ids and of binned numerics, learned on the first half of the requests) ranks the second
    # half well above chance (0.68-0.79 over seeds 0-5; the ids alone 0.61-0.74)
    frame = frame.with_columns(
        (pl.col("topic_affinity") * 10).round().alias("affinity_bin"),
        (pl.col("post_age_hours") / 12).floor().clip(0, 8).alias("age_bin"),
    )
    first = frame["query"] < frame["query"].max() // 2
    train, rest = frame.filter(first), frame.filter(~first)
    fields = ["user", "author", "topic", "format", "follows_author", "affinity_bin", "age_bin"]
    for task in BINARY:
        prior = train[task].mean()
        score = np.zeros(rest.height)
        for f in fields:
            rate = train.group_by(f).agg(((pl.col(task).sum() + 20 * prior) / (pl.len() + 20)).alias("rate"))
            r = rest.select(f).join(rate, on=f, how="left")["rate"].fill_null(prior).to_numpy()
            score += np.log(r / (1 - r))
        assert _auc(rest[task].to_numpy(), score) > 0.65, task


def _auc(label: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC with tied scores sharing their mean rank."""
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    _, inverse = np.unique(score, return_inverse=True)
    ranks = (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]
    n_pos = label.sum()
    return float((ranks[label > 0].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(label) - n_pos)))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate(task_correlation=1.5, **SMALL)
    with pytest.raises(ValueError):
        generate(latent_dim=4, **SMALL)
    with pytest.raises(ValueError):
        generate(posts_per_request=500, **SMALL)
