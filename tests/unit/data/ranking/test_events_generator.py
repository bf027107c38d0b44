"""The synthetic event-recommendation world: seeded, the shared schema, label rates, the planted order."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from framework.data.synthetic.events import CATEGORICAL, GROUPS, NUMERIC, generate


@pytest.fixture(scope="module")
def table():
    return generate(seed=0)


def test_same_seed_same_rows_other_seed_other_rows(table) -> None:
    small = {"n_users": 300, "n_events": 200, "n_hosts": 30}
    assert generate(seed=4, **small).frame.equals(generate(seed=4, **small).frame)
    assert not generate(seed=5, **small).frame.equals(generate(seed=4, **small).frame)


def test_schema_groups_and_values(table) -> None:
    frame = table.frame
    assert frame.columns[:4] == ["query", "item", "time", "label"]
    assert set(frame.columns[4:]) == set(NUMERIC) | set(CATEGORICAL)
    assert sorted(c for cols in table.groups.values() for c in cols) == sorted(table.features)
    assert set(table.groups) == {"location", "time", "social", "host", "popularity", "category"}
    assert table.groups == GROUPS and table.frame.null_count().sum_horizontal()[0] == 0
    assert frame.height == 3000 * 24 and frame.group_by("query").len()["len"].unique().to_list() == [24]
    assert frame.select(pl.struct("query", "item").is_unique().all()).item()  # a user sees an event once
    assert frame["lead_days"].min() > 0 and frame["distance_km"].min() >= 0
    assert set(frame["event_weekday"].unique()) <= set(range(7)) and frame["event_hour"].is_between(0, 23).all()
    assert frame["seen_hour"].is_between(0, 23).all() and frame["category_affinity"].is_between(0, 1).all()
    # seen_hour is the hour of `time`
    assert np.array_equal(np.floor(np.mod(frame["time"].to_numpy(), 1) * 24), frame["seen_hour"].to_numpy())
    assert 0.05 < frame["invited"].mean() < 0.15


def test_positive_rate_and_users_with_a_positive(table) -> None:
    rate = table.frame["label"].mean()
    assert 0.20 <= rate <= 0.35
    with_positive = table.frame.group_by("query").agg(pl.col("label").max())["label"].mean()
    assert with_positive > 0.95


def test_max_rows_keeps_whole_users() -> None:
    frame = generate(n_users=100, n_events=200, n_hosts=20, max_rows=250).frame
    assert frame.height == 240 and frame["query"].n_unique() == 10
    assert generate(n_users=100, n_events=200, n_hosts=20, max_rows=5).frame.height == 5


def _design(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    x = []
    for c in columns:
        if c == "category":  # an id: its information is in category_affinity for a linear model
            continue
        if c == "event_weekday":
            x.append(frame[c].to_numpy() >= 5)
        elif c == "seen_hour":  # the cross a model must find: browsing in the evening, evening event
            x.append((frame[c].to_numpy() >= 17) == (frame["event_hour"].to_numpy() >= 18))
        else:
            x.append(frame[c].to_numpy())
    xs = np.stack(x, 1).astype(np.float64)
    return np.c_[np.ones(len(xs)), (xs - xs.mean(0)) / (xs.std(0) + 1e-9)]


def _held_out_auc(frame: pl.DataFrame, columns: list[str], train: np.ndarray) -> float:
    """AUC on the held-out users of a logistic regression (Newton steps) on `columns`."""
    x, y = _design(frame, columns), frame["label"].to_numpy().astype(np.float64)
    w = np.zeros(x.shape[1])
    for _ in range(8):
        p = 1 / (1 + np.exp(-x[train] @ w))
        hessian = (x[train] * (p * (1 - p))[:, None]).T @ x[train]
        w += np.linalg.solve(hessian + 1e-6 * np.eye(len(w)), x[train].T @ (y[train] - p))
    score, truth = x[~train] @ w, y[~train]
    rank = np.argsort(np.argsort(score)) + 1.0
    n_pos = truth.sum()
    return float((rank[truth > 0].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(truth) - n_pos)))


def test_dropping_each_group_costs_in_the_planted_order(table) -> None:
    frame = table.frame
    train = frame["query"].to_numpy() % 10 < 7
    full = _held_out_auc(frame, table.features, train)
    loss = {
        g: full - _held_out_auc(frame, [c for c in table.features if c not in cols], train)
        for g, cols in table.groups.items()
    }
    order = sorted(loss, key=loss.get, reverse=True)
    assert order == ["location", "social", "category", "time", "host", "popularity"], loss
    assert loss["popularity"] > 0
    assert np.corrcoef(frame["distance_km"], frame["label"])[0, 1] < -0.3  # closer, more interested
