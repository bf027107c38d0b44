"""FeedDataModule: the time split, rows grouped by request, observed-label masks, task subsets, and the
clear errors for labels that cannot be learned from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from omegaconf import OmegaConf

from framework.data.feed.datamodule import FeedDataModule
from framework.data.feed.table import FeedTable
from framework.errors import DataError

SOURCE = f"{__name__}.feed_rows"


def feed_rows(n_requests: int = 40, posts: int = 5, bad_click_row: int | None = None, like_positive: bool = True):
    """Requests shown one per hour, in a scrambled order; dwell observed on clicked rows only."""
    rng = np.random.default_rng(0)
    n = n_requests * posts
    query = np.repeat(rng.permutation(n_requests), posts)
    click = (rng.random(n) < 0.4).astype(np.float32)
    if bad_click_row is not None:
        click[bad_click_row] = 2.0
    like = ((rng.random(n) < 0.3) & like_positive).astype(np.float32)
    frame = pl.DataFrame(
        {
            "query": query.astype(np.int64),
            "user": (query % 7).astype(np.int64),
            "item": rng.integers(0, 30, n).astype(np.int64),
            "time": 19000.0 + query / 24.0,
            "click": click,
            "like": like,
            "dwell": pl.Series(np.where(click == 1, rng.uniform(5, 60, n), np.nan)).fill_nan(None).cast(pl.Float32),
            "age": rng.uniform(0, 48, n),
            "topic": rng.integers(0, 4, n).astype(np.int64),
        }
    )
    tasks = {"click": "binary", "like": "binary", "dwell": "regression"}
    return FeedTable(frame, tasks, numeric=["age"], categorical=["topic"], source="feed.tsv")


def _data(tmp_path: Path, **source) -> FeedDataModule:
    cfg = OmegaConf.create(
        {
            "_target_": SOURCE,
            "name": "tiny_feed",
            **source,
            "split": [0.6, 0.2, 0.2],
            "split_strategy": "time",
            "batch_size": 16,
            "eval_batch_size": 64,
            "features": {
                "min_count": 1,
                "hash_buckets": None,
                "numeric_transform": "none",
                "standardize": True,
                "missing_indicators": False,
            },
            "cache": False,
        }
    )
    data = FeedDataModule(cfg, tmp_path / "cache", seed=0)
    data.prepare()
    return data


def test_time_split_keeps_the_future_for_test_and_groups_rows_by_request(tmp_path: Path) -> None:
    data = _data(tmp_path)
    rows = data.rows
    assert [len(rows[p]["query"]) for p in ("train", "valid", "test")] == [120, 40, 40]
    assert rows["train"]["query"].max() < rows["valid"]["query"].min() <= rows["valid"]["query"].max()
    assert rows["valid"]["query"].max() < rows["test"]["query"].min()  # request id = hour shown here
    for part in rows.values():
        assert np.all(np.diff(part["query"]) >= 0)  # sorted: a request's rows are together
    assert list(data.tasks) == ["click", "like", "dwell"]
    assert data.info["train_requests"] == 24 and set(data.info["tasks"]["train"]) == {"click", "like", "dwell"}


def test_dwell_is_observed_on_clicked_rows_only_and_standardised_by_train_statistics(tmp_path: Path) -> None:
    data = _data(tmp_path)
    train = data.rows["train"]
    click, dwell_seen = train["label"][:, 0], train["observed"][:, 2]
    assert np.array_equal(dwell_seen, click == 1) and train["observed"][:, :2].all()
    assert np.all(train["label"][~dwell_seen, 2] == 0.0)
    mean, std = data.target_scale["dwell"]
    seen = train["label"][dwell_seen, 2]
    assert mean == pytest.approx(seen.mean(), rel=1e-5) and std == pytest.approx(seen.std(ddof=1), rel=1e-4)


def test_keep_tasks_selects_label_columns_and_names_unknown_ones(tmp_path: Path) -> None:
    data = _data(tmp_path)
    full = data.rows["test"]["label"].copy()
    data.keep_tasks(["click", "dwell"])
    assert list(data.tasks) == ["click", "dwell"] and np.array_equal(data.rows["test"]["label"], full[:, [0, 2]])
    with pytest.raises(DataError, match=r"multi_task.tasks names \['share'\].*Its tasks: click, dwell"):
        data.keep_tasks(["share"])


def test_a_label_that_is_not_0_or_1_names_its_row(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"feed.tsv: label 'click' of data row 8 is 2.0; it must be 0 or 1"):
        _data(tmp_path, bad_click_row=7)


def test_a_task_without_a_training_positive_stops_before_training(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="task 'like' has no positive label in the training rows"):
        _data(tmp_path, like_positive=False)


def test_a_split_that_leaves_a_part_empty_names_the_source(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"feed.tsv: the time split \[0.6, 0.2, 0.2\] leaves no valid rows"):
        _data(tmp_path, n_requests=2, posts=1)
