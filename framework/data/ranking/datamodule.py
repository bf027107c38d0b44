"""Query-grouped data for the learning_to_rank kind: source -> split -> encode -> padded lists, cached.

1. the source gives a `QueryTable` (rows of candidates, a query = one user's list);
2. split: `group` keeps each query's rows together (a seeded draw of queries per split: new users),
   `time` cuts the rows by the time they were shown (the last rows are valid, then test: the future);
3. the tabular encoder (vocabularies, standardisation) is fit on the train rows only;
4. each split becomes padded lists [queries, L, ...] (L = its longest list): a batch is whole queries,
   as pairwise and listwise losses need. `mask` marks real rows, `item` is -1 on padding.

Feature groups (location, time, social, ...) are kept in the cache whole; `keep_groups` drops the
columns of an ablation's groups afterwards, so one cache serves every ablation.
Queries without a positive cannot be ranked well or badly: they are counted per split
(`info["queries_without_positive"]`) and the metrics skip them (framework.metrics.topk).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl
import torch

from framework.data import cache, read_source
from framework.data.batching import TensorTable
from framework.data.module import SplitTablesDataModule
from framework.data.ranking import table as table_module
from framework.data.ranking.table import QueryTable
from framework.data.tabular.features import FeatureSpec, TabularEncoder
from framework.data.tabular.table import RawTable
from framework.errors import DataError

PARTS = ("train", "valid", "test")
LIST_ARRAYS = ("categorical", "numeric", "label", "mask", "item")
_NOT_SOURCE_ARGS = {"_target_", "name", "split", "split_strategy", "batch_size", "eval_batch_size", "features", "cache"}


def split_rows(frame: pl.DataFrame, strategy: str, fractions: list[float], seed: int) -> dict[str, pl.DataFrame]:
    """train/valid/test rows: whole queries drawn by a seeded permutation (`group`), or cut by time."""
    if strategy == "group":
        queries = np.unique(frame["query"].to_numpy())
        order = np.random.default_rng(seed).permutation(len(queries))
        n_train, n_valid = int(len(queries) * fractions[0]), int(len(queries) * fractions[1])
        part_of = np.empty(len(queries), dtype=np.int8)
        part_of[order[:n_train]], part_of[order[n_train : n_train + n_valid]] = 0, 1
        part_of[order[n_train + n_valid :]] = 2
        parts = pl.DataFrame({"query": queries, "_part": part_of})
        tagged = frame.join(parts, on="query", how="left", maintain_order="left")
        return {p: tagged.filter(pl.col("_part") == i).drop("_part") for i, p in enumerate(PARTS)}
    ordered = frame.with_row_index("_row").sort(["time", "_row"]).drop("_row")
    n = ordered.height
    n_train, n_valid = int(n * fractions[0]), int(n * fractions[1])
    return {
        "train": ordered.slice(0, n_train),
        "valid": ordered.slice(n_train, n_valid),
        "test": ordered.slice(n_train + n_valid),
    }


def split_nonempty(
    frame: pl.DataFrame, strategy: str, fractions: list[float], seed: int, source: str
) -> dict[str, pl.DataFrame]:
    """`split_rows`, and a DataError naming the source when a part would be empty."""
    parts = split_rows(frame, strategy, fractions, seed)
    for name, rows in parts.items():
        if rows.height == 0:
            raise DataError(
                f"{source}: the {strategy} split {fractions} leaves no {name} rows ({frame.height} rows, "
                f"{frame['query'].n_unique()} queries). Use more data or change dataset.split."
            )
    return parts


def padded_lists(frame: pl.DataFrame, categorical: np.ndarray, numeric: np.ndarray) -> dict[str, np.ndarray]:
    """Rows grouped by query into [Q, L, ...] arrays (queries in id order, rows in their order)."""
    query = frame["query"].to_numpy()
    order = np.argsort(query, kind="stable")
    query = query[order]
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    lengths = np.diff(np.r_[starts, len(query)])
    n_queries, width = len(starts), int(lengths.max())
    q = np.repeat(np.arange(n_queries), lengths)
    r = np.arange(len(query)) - np.repeat(starts, lengths)
    out = {
        "query": query[starts].astype(np.int64),
        "categorical": np.zeros((n_queries, width, categorical.shape[1]), np.int32),
        "numeric": np.zeros((n_queries, width, numeric.shape[1]), np.float32),
        "label": np.zeros((n_queries, width), np.float32),
        "mask": np.zeros((n_queries, width), bool),
        "item": np.full((n_queries, width), -1, np.int64),
    }
    out["categorical"][q, r] = categorical[order]
    out["numeric"][q, r] = numeric[order]
    label = frame["label"].to_numpy()
    out["label"][q, r] = np.nan_to_num(label[order].astype(np.float32))  # unlabelled rows: 0
    out["mask"][q, r] = True
    out["item"][q, r] = frame["item"].to_numpy()[order]
    return out


class RankingDataModule(SplitTablesDataModule):
    def prepare(self) -> FeatureSpec:
        start = time.perf_counter()
        modules = [table_module.__name__, __name__]
        key = cache.cache_key(self.cfg, modules, extra={"seed": self.seed})
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build)
        self.info.update(meta["info"], cache="hit" if hit else "miss", seconds=round(time.perf_counter() - start, 3))
        self.spec = FeatureSpec.from_dict(meta["spec"])
        self.groups: dict[str, list[str]] = dict(meta["groups"])
        parts = [*PARTS, *(["predict"] if "predict_label" in arrays else [])]
        self.lists = {p: {name: arrays[f"{p}_{name}"] for name in (*LIST_ARRAYS, "query")} for p in parts}
        return self.spec

    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, QueryTable, "candidate rows grouped by query")
        _check_labels(table)
        strategy = str(self.cfg.get("split_strategy") or "group")
        parts = split_nonempty(table.frame, strategy, list(self.cfg.split), self.seed, table.source)
        if parts["train"]["label"].sum() == 0:
            raise DataError(f"{table.source}: no positive label in the training rows: nothing to learn from.")
        f = self.cfg.features
        encoder = TabularEncoder(f.min_count, f.hash_buckets, f.numeric_transform, f.standardize, f.missing_indicators)

        def raw(frame: pl.DataFrame) -> RawTable:
            return RawTable(frame, "label", list(table.numeric), list(table.categorical), table.source)

        spec = encoder.fit(raw(parts["train"]), parts["train"].height)
        if table.unlabelled is not None and table.unlabelled.height:
            parts["predict"] = table.unlabelled.with_columns(pl.col("label").fill_null(0.0))
        arrays: dict[str, np.ndarray] = {}
        info: dict[str, Any] = {
            "source": table.source,
            "rows_read": table.frame.height,
            "split_strategy": strategy,
            "read_seconds": round(read_seconds, 3),
            "source_info": table.info,  # what the source dropped, counted or could not compute
        }
        for name, rows in parts.items():
            encoded = encoder.transform(raw(rows))
            lists = padded_lists(rows, encoded.categorical, encoded.numeric)
            arrays.update({f"{name}_{k}": v for k, v in lists.items()})
            has_positive = (lists["label"] > 0).any(1)
            info[f"{name}_rows"], info[f"{name}_queries"] = rows.height, len(lists["query"])
            if name != "predict":
                info[f"{name}_positive_rate"] = round(float(rows["label"].mean() or 0.0), 4)
                info.setdefault("queries_without_positive", {})[name] = int((~has_positive).sum())
        # the encoder's indicator columns (`x_missing`) join their feature's group
        groups = {
            g: [c for c in spec_names(spec) if c in cols or c.removesuffix("_missing") in cols]
            for g, cols in table.groups.items()
        }
        meta = {"spec": spec.to_dict(), "groups": groups, "info": info, "arrays": sorted(arrays)}
        return arrays, meta

    def keep_groups(self, drop: list[str]) -> FeatureSpec:
        """Leave out the columns of the feature groups in `drop` (the ablation); the new spec."""
        unknown = [g for g in drop if g not in self.groups]
        if unknown:
            raise DataError(
                f"ltr.drop_groups names {unknown}, which dataset '{self.cfg.name}' does not have. Its feature "
                f"groups: {', '.join(self.groups)}."
            )
        dropped = {c for g in drop for c in self.groups[g]}
        if len(dropped) == len(self.spec.features):
            raise DataError(f"ltr.drop_groups={drop} leaves the model no feature. Drop fewer groups.")
        cat = [i for i, x in enumerate(self.spec.categorical) if x.name not in dropped]
        num = [i for i, x in enumerate(self.spec.numeric) if x.name not in dropped]
        for lists in self.lists.values():
            lists["categorical"] = lists["categorical"][:, :, cat]
            lists["numeric"] = lists["numeric"][:, :, num]
        kept = [x for x in self.spec.features if x.name not in dropped]
        self.spec = FeatureSpec(tuple(kept), self.spec.label)
        self.info["dropped_groups"] = list(drop)
        return self.spec

    def tensors(self, part: str) -> TensorTable:
        lists = self.lists[part]
        return TensorTable({k: torch.from_numpy(np.ascontiguousarray(lists[k])) for k in LIST_ARRAYS})


def spec_names(spec: FeatureSpec) -> list[str]:
    return [f.name for f in spec.features]


def _check_labels(table: QueryTable) -> None:
    """Labels are 0/1 (or graded, non-negative) numbers: a NaN or a negative one names its row."""
    label = table.frame["label"]
    bad = (label.is_null() | label.is_nan() | (label < 0)).arg_true()
    if bad.len():
        row = int(bad[0])
        raise DataError(
            f"{table.source}: label of data row {row + 1} is {label[row]!r}; labels must be 0/1 (or a "
            f"non-negative grade). {bad.len()} such row(s)."
        )
