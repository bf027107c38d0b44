"""The learning_to_rank kind's parts: splits, padded lists, the ablation, sorted lists for the metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from omegaconf import OmegaConf

from framework.data.ranking.datamodule import RankingDataModule, padded_lists, split_rows
from framework.data.ranking.table import QueryTable
from framework.errors import DataError
from framework.metrics.topk import MAPAtK, MRRAtK, NDCGAtK
from framework.tasks.learning_to_rank.evaluation import ranked_lists


def tiny_source(n_queries: int = 30, per_query: int = 5, seed: int = 0, bad_label: bool = False) -> QueryTable:
    """Queries of `per_query` candidates; the label follows `near` (location) more than `hour` (time)."""
    rng = np.random.default_rng(seed)
    n = n_queries * per_query
    near = rng.random(n)
    hour = rng.integers(0, 24, n).astype(float)
    label = (near + 0.1 * rng.random(n) > 0.7).astype(np.float32)
    if bad_label:
        label[7] = np.nan
    frame = pl.DataFrame(
        {
            "query": np.repeat(np.arange(n_queries), per_query),
            "item": rng.integers(0, 40, n),
            "time": np.arange(n, dtype=float),
            "label": label,
            "near": near,
            "hour": hour,
            "weekday": rng.integers(0, 7, n),
        }
    )
    return QueryTable(frame, ["near", "hour"], ["weekday"], {"location": ["near"], "time": ["hour", "weekday"]}, "tiny")


def _config(**overrides) -> OmegaConf:
    cfg = {
        "_target_": f"{__name__}.tiny_source",
        "name": "tiny",
        "split": [0.6, 0.2, 0.2],
        "split_strategy": "group",
        "batch_size": 4,
        "eval_batch_size": 16,
        "features": {
            "min_count": 1,
            "hash_buckets": None,
            "numeric_transform": "none",
            "standardize": True,
            "missing_indicators": False,
        },
        "cache": False,
        **overrides,
    }
    return OmegaConf.create(cfg)


def test_group_split_keeps_each_query_whole_and_time_split_cuts_by_time() -> None:
    frame = tiny_source().frame
    parts = split_rows(frame, "group", [0.6, 0.2, 0.2], seed=1)
    queries = [set(p["query"].to_list()) for p in parts.values()]
    assert sum(len(q) for q in queries) == 30 and not (queries[0] & queries[1] or queries[1] & queries[2])
    assert sum(p.height for p in parts.values()) == frame.height
    parts = split_rows(frame, "time", [0.6, 0.2, 0.2], seed=1)
    assert parts["train"]["time"].max() < parts["valid"]["time"].min() <= parts["valid"]["time"].max()
    assert parts["valid"]["time"].max() < parts["test"]["time"].min()


def test_padded_lists_put_each_query_in_one_row() -> None:
    frame = pl.DataFrame({"query": [5, 2, 5, 2, 5], "item": [1, 2, 3, 4, 6], "label": [1.0, 0.0, 0.0, 1.0, 1.0]})
    categorical = np.arange(5, dtype=np.int32)[:, None]
    numeric = np.arange(5, dtype=np.float32)[:, None] / 10
    lists = padded_lists(frame, categorical, numeric)
    assert lists["query"].tolist() == [2, 5]
    assert lists["item"].tolist() == [[2, 4, -1], [1, 3, 6]]
    assert lists["mask"].tolist() == [[True, True, False], [True, True, True]]
    assert lists["label"].tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    assert lists["categorical"][1, :, 0].tolist() == [0, 2, 4]


def test_data_module_encodes_counts_and_drops_groups(tmp_path: Path) -> None:
    data = RankingDataModule(_config(), tmp_path, seed=0)
    spec = data.prepare()
    assert [f.name for f in spec.features] == ["weekday", "near", "hour"]
    assert data.info["train_queries"] + data.info["valid_queries"] + data.info["test_queries"] == 30
    assert set(data.info["queries_without_positive"]) == {"train", "valid", "test"}
    train = data.lists["train"]
    assert train["categorical"].shape[2] == 1 and train["numeric"].shape[2] == 2
    spec = data.keep_groups(["time"])
    assert [f.name for f in spec.features] == ["near"]
    assert data.lists["valid"]["categorical"].shape[2] == 0 and data.lists["valid"]["numeric"].shape[2] == 1


def test_unknown_group_and_bad_labels_are_data_errors(tmp_path: Path) -> None:
    data = RankingDataModule(_config(), tmp_path, seed=0)
    data.prepare()
    with pytest.raises(DataError, match=r"does not have\. Its feature groups: location, time"):
        data.keep_groups(["social"])
    with pytest.raises(DataError, match=r"leaves the model no feature\."):
        data.keep_groups(["location", "time"])
    bad = RankingDataModule(_config(bad_label=True), tmp_path, seed=0)
    with pytest.raises(DataError, match="label of data row 8 is nan"):
        bad.prepare()


def test_ranked_lists_sort_by_score_and_feed_the_suite() -> None:
    # two queries: the first ranks its relevant item 2nd of 3; the second has no relevant item
    scores = torch.tensor([[0.2, 0.9, 0.5], [1.0, 0.0, 0.0]])
    label = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    item = torch.tensor([[10, 11, 12], [13, 14, -1]])
    lists = ranked_lists(scores, label, mask, item, depth=200, catalog_size=15)
    assert lists.items[0, :3].tolist() == [11, 12, 10] and lists.hits.shape == (2, 200)
    assert lists.n_relevant.tolist() == [1, 0]
    for metric, expected in ((MRRAtK(200), 0.5), (MAPAtK(200), 0.5), (NDCGAtK(10), 1 / np.log2(3))):
        metric.update(lists)
        assert metric.compute().item() == pytest.approx(expected, rel=1e-6)  # the second query is skipped


def test_ranked_lists_break_ties_by_item_not_by_row_order() -> None:
    # every score ties: the metrics must not reward the relevant item for being listed first
    label = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]])
    mask = torch.ones(1, 5, dtype=torch.bool)
    item = torch.tensor([[3, 8, 21, 5, 13]])
    scores = torch.zeros(1, 5)
    values = set()
    for perm in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        p = torch.tensor([perm])
        lists = ranked_lists(scores, label.gather(1, p), mask, item.gather(1, p), depth=10, catalog_size=30)
        values.add(tuple(lists.items[0, :5].tolist()))
        metric = MAPAtK(10)
        metric.update(lists)
        assert metric.compute().item() < 1.0  # item 3 (relevant) is not first by the hash
    assert len(values) == 1  # the same order whatever order the rows came in
    # scores still decide first; only equal scores fall back to the key
    lists = ranked_lists(torch.tensor([[0.0, 1.0, 1.0, 0.5, 0.0]]), label, mask, item, depth=10, catalog_size=30)
    assert set(lists.items[0, :2].tolist()) == {8, 21} and lists.items[0, 2].item() == 5
