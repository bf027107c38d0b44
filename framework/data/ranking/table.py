"""`QueryTable`: candidate rows grouped by query, what every learning-to-rank source returns.

A query is one user's list of candidates (events shown to the user); each row is one candidate with its
features and a relevance label (1 = interested, 0 = not). Feature columns are numeric (floats, nullable)
or categorical (integer ids, nullable); every feature column belongs to exactly one feature group
(location, time, social, host, popularity, category, ...): the unit of the ablation preset.

    table = QueryTable(frame, numeric=[...], categorical=[...], groups={"location": ["distance_km"], ...},
                       source="train.csv")

`frame` columns: `query` (int64), `item` (int64), `time` (float64, days since 1970: when the candidate was
shown; the time split cuts on it), `label` (float32), then the features. `unlabelled`, when a source
has rows to predict without labels (Kaggle's test.csv), has the same columns with a null label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from framework.errors import DataError

KEY_COLUMNS = ("query", "item", "time", "label")


@dataclass
class QueryTable:
    frame: pl.DataFrame
    numeric: list[str]
    categorical: list[str]
    groups: dict[str, list[str]]
    source: str
    info: dict[str, Any] = field(default_factory=dict)  # what the source dropped or counted, for the run record
    unlabelled: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.frame.height == 0:
            raise DataError(f"{self.source}: no data rows.")
        missing = [c for c in (*KEY_COLUMNS, *self.numeric, *self.categorical) if c not in self.frame.columns]
        if missing:
            raise DataError(f"{self.source}: the table lacks column(s) {missing}.")
        grouped = [c for cols in self.groups.values() for c in cols]
        features = [*self.numeric, *self.categorical]
        if sorted(grouped) != sorted(features):
            raise ValueError(
                f"{self.source}: every feature must be in exactly one group; features {sorted(features)}, "
                f"grouped {sorted(grouped)}"
            )

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]
