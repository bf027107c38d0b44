"""`FeedTable`: impressions of a feed with one label column per task, what every multi-task source returns.

A row is one post shown in one feed request (a MIND impression); a request's rows are one ranked list
(`query`). Each task is a label column, named by the task, with its kind:

    binary       0/1 reactions (click, like, comment, share, hide): a sigmoid head, BCE, ROC-AUC / PR-AUC
    regression   real values (dwell time, seconds): a linear head, squared error, MAE / RMSE

A null label means "not observed for this row" (dwell time exists only for clicked posts; MIND has
clicks only): that head skips the row in its loss and its metrics.

    table = FeedTable(frame, tasks={"click": "binary", "dwell": "regression"}, numeric=[...],
                      categorical=[...], source="behaviors.tsv")

`frame` columns: `query` (int64: the request / impression), `user` (int64), `item` (int64: the post),
`time` (float64, days since 1970: when the feed was shown; the time split cuts on it), one column per
task (float32, nullable), then the features: numeric (float64, nullable) and categorical (int64 ids,
nullable; the encoder builds vocabularies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from framework.errors import DataError

KEY_COLUMNS = ("query", "user", "item", "time")
TaskKindName = Literal["binary", "regression"]


@dataclass
class FeedTable:
    frame: pl.DataFrame
    tasks: dict[str, TaskKindName]  # label column -> kind, in head order
    numeric: list[str]
    categorical: list[str]
    source: str
    info: dict[str, Any] = field(default_factory=dict)  # what the source dropped or counted, for the run record

    def __post_init__(self) -> None:
        if self.frame.height == 0:
            raise DataError(f"{self.source}: no data rows.")
        if not self.tasks:
            raise ValueError(f"{self.source}: a feed table needs at least one task (label column)")
        bad = {t: k for t, k in self.tasks.items() if k not in ("binary", "regression")}
        if bad:
            raise ValueError(f"{self.source}: task kinds must be binary or regression, got {bad}")
        needed = (*KEY_COLUMNS, *self.tasks, *self.numeric, *self.categorical)
        missing = [c for c in needed if c not in self.frame.columns]
        if missing:
            raise DataError(f"{self.source}: the table lacks column(s) {missing}.")
        overlap = set(self.tasks) & {*self.numeric, *self.categorical}
        if overlap:
            raise ValueError(f"{self.source}: column(s) {sorted(overlap)} are both a label and a feature")

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]
