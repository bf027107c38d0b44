"""Feed rows for the multi_task kind: source -> split -> encode -> row arrays sorted by request, cached.

1. the source gives a `FeedTable` (one row per post shown in a feed request, one label column per task);
2. split: `time` (default) cuts the rows by when the feed was shown: the last ones are valid, then test
   (the future, as a retrained feed model meets it); `group` draws whole requests per split (seeded);
3. the tabular encoder (vocabularies, standardisation) is fit on the train rows only;
4. each split becomes contiguous arrays sorted by request: `categorical` [N, F], `numeric` [N, D],
   `label` [N, T] (0 where not observed), `observed` [N, T], `query` [N]. Training batches are shuffled
   rows (the losses are pointwise); the request metrics regroup rows by `query`.

`info["tasks"]` records, per task and split, the observed rows and the positive rate (binary) or mean
(regression); a regression task's train mean and standard deviation (`target_scale`) standardise its
target in the loss (framework.tasks.multi_task.module).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl
import torch

from framework.data import cache, read_source
from framework.data.batching import TensorTable
from framework.data.feed import table as table_module
from framework.data.feed.table import FeedTable
from framework.data.module import SplitTablesDataModule
from framework.data.ranking.datamodule import split_nonempty
from framework.data.tabular.features import FeatureSpec, TabularEncoder
from framework.data.tabular.table import RawTable
from framework.errors import DataError

PARTS = ("train", "valid", "test")
ROW_ARRAYS = ("categorical", "numeric", "label", "observed", "query")
_NOT_SOURCE_ARGS = {"_target_", "name", "split", "split_strategy", "batch_size", "eval_batch_size", "features", "cache"}


def check_labels(table: FeedTable) -> None:
    """Binary labels are 0/1, regression labels finite (nulls: not observed); the first bad one names its row."""
    for task, kind in table.tasks.items():
        label = table.frame[task].cast(pl.Float64)
        bad = label.is_nan() | label.is_infinite()
        if kind == "binary":
            bad = bad | ~label.is_in([0.0, 1.0])
        rows = bad.fill_null(False).arg_true()
        if rows.len():
            row = int(rows[0])
            what = "0 or 1 (or empty: not observed)" if kind == "binary" else "a finite number (or empty)"
            raise DataError(
                f"{table.source}: label '{task}' of data row {row + 1} is {label[row]!r}; it must be {what}. "
                f"{rows.len()} such row(s)."
            )


def _task_summary(frame: pl.DataFrame, tasks: dict[str, str]) -> dict[str, dict[str, float]]:
    out = {}
    for task, kind in tasks.items():
        observed = frame[task].drop_nulls()
        key = "positive_rate" if kind == "binary" else "mean"
        out[task] = {"observed": observed.len(), key: round(float(observed.mean()), 4) if observed.len() else None}
    return out


class FeedDataModule(SplitTablesDataModule):
    def prepare(self) -> FeatureSpec:
        start = time.perf_counter()
        key = cache.cache_key(self.cfg, [table_module.__name__, __name__], extra={"seed": self.seed})
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build)
        self.info.update(meta["info"], cache="hit" if hit else "miss", seconds=round(time.perf_counter() - start, 3))
        self.spec = FeatureSpec.from_dict(meta["spec"])
        self.tasks: dict[str, str] = dict(meta["tasks"])
        self.target_scale: dict[str, list[float]] = dict(meta["target_scale"])
        self.rows = {p: {name: arrays[f"{p}_{name}"] for name in ROW_ARRAYS} for p in PARTS}
        return self.spec

    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, FeedTable, "feed impressions with reactions")
        check_labels(table)
        strategy = str(self.cfg.get("split_strategy") or "time")
        parts = split_nonempty(table.frame, strategy, list(self.cfg.split), self.seed, table.source)
        train = parts["train"]
        target_scale: dict[str, list[float]] = {}  # regression tasks: (mean, std) of the observed train labels
        for task, kind in table.tasks.items():
            observed = train[task].drop_nulls()
            if observed.len() == 0 or (kind == "binary" and observed.sum() == 0):
                raise DataError(
                    f"{table.source}: task '{task}' has no {'positive' if kind == 'binary' else 'observed'} label "
                    f"in the training rows: nothing to learn it from. Drop it (multi_task.tasks) or use more data."
                )
            if kind == "regression":
                std = observed.std()  # None for a single label, 0 for a constant one: then 1
                target_scale[task] = [float(observed.mean()), float(std) if std else 1.0]
        f = self.cfg.features
        encoder = TabularEncoder(f.min_count, f.hash_buckets, f.numeric_transform, f.standardize, f.missing_indicators)
        label = next(iter(table.tasks))

        def raw(frame: pl.DataFrame) -> RawTable:
            return RawTable(frame, label, list(table.numeric), list(table.categorical), table.source)

        spec = encoder.fit(raw(train), train.height)
        arrays: dict[str, np.ndarray] = {}
        info: dict[str, Any] = {
            "source": table.source,
            "rows_read": table.frame.height,
            "split_strategy": strategy,
            "read_seconds": round(read_seconds, 3),
            "source_info": table.info,
            "tasks": {},
        }
        for name, rows in parts.items():
            rows = rows.sort("query", maintain_order=True)  # a request's rows together, in their order
            encoded = encoder.transform(raw(rows))
            labels = rows.select([pl.col(t).cast(pl.Float32) for t in table.tasks])
            arrays[f"{name}_categorical"] = encoded.categorical
            arrays[f"{name}_numeric"] = encoded.numeric
            arrays[f"{name}_observed"] = labels.select(pl.all().is_not_null()).to_numpy()
            arrays[f"{name}_label"] = labels.fill_null(0.0).to_numpy().astype(np.float32)
            arrays[f"{name}_query"] = rows["query"].to_numpy().astype(np.int64)
            info[f"{name}_rows"], info[f"{name}_requests"] = rows.height, rows["query"].n_unique()
            info["tasks"][name] = _task_summary(rows, table.tasks)
        meta = {
            "spec": spec.to_dict(),
            "tasks": dict(table.tasks),
            "target_scale": target_scale,
            "info": info,
            "arrays": sorted(arrays),
        }
        return arrays, meta

    def keep_tasks(self, tasks: list[str]) -> None:
        """Train and evaluate only `tasks` (a subset of the data's, in the data's order)."""
        unknown = [t for t in tasks if t not in self.tasks]
        if unknown:
            raise DataError(
                f"multi_task.tasks names {unknown}, which dataset '{self.cfg.name}' does not have. "
                f"Its tasks: {', '.join(self.tasks)}."
            )
        columns = [i for i, t in enumerate(self.tasks) if t in tasks]
        for rows in self.rows.values():
            rows["label"], rows["observed"] = rows["label"][:, columns], rows["observed"][:, columns]
        self.tasks = {t: k for t, k in self.tasks.items() if t in tasks}
        self.info["trained_tasks"] = list(self.tasks)

    def tensors(self, part: str) -> TensorTable:
        rows = self.rows[part]
        return TensorTable({k: torch.from_numpy(np.ascontiguousarray(rows[k])) for k in ROW_ARRAYS})
