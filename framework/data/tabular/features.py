"""The data -> model contract (`FeatureSpec`) and the tabular encoder that produces it.

Categorical ids become small integers per field: 0 = out of vocabulary (rare in train, or unseen),
1 = missing, 2.. = the vocabulary fit on the train split only, most frequent first. With
`hash_buckets` the vocabulary is replaced by the hashing trick (2 + hash % buckets), with at most
`hash_buckets` buckets per field and no more than twice the field's distinct train values (a field of
three values does not need a million rows). Numeric fields get
an optional signed log1p, then train-split standardisation; missing values become 0 (the train mean).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from framework.data.tabular.table import RawTable
from framework.errors import DataError

OOV, MISSING, FIRST_ID = 0, 1, 2
_HASH_SEED = 20240611  # fixed: hashed ids must not change between runs


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Literal["categorical", "numeric"]
    cardinality: int = 0  # categorical: rows in its embedding table, OOV and missing rows included


@dataclass(frozen=True)
class FeatureSpec:
    """All a model knows about the data: the fields, their kinds and cardinalities."""

    features: tuple[Feature, ...]
    label: str

    @property
    def categorical(self) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.kind == "categorical")

    @property
    def numeric(self) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.kind == "numeric")

    @property
    def cardinalities(self) -> list[int]:
        return [f.cardinality for f in self.categorical]

    @property
    def n_numeric(self) -> int:
        return len(self.numeric)

    def to_dict(self) -> dict:
        return {"label": self.label, "features": [asdict(f) for f in self.features]}

    @staticmethod
    def from_dict(d: dict) -> FeatureSpec:
        return FeatureSpec(tuple(Feature(**f) for f in d["features"]), d["label"])


@dataclass
class EncodedTable:
    """Contiguous arrays, ready to be sliced into batches."""

    categorical: np.ndarray  # int32 [N, n_categorical]
    numeric: np.ndarray  # float32 [N, n_numeric]
    label: np.ndarray  # float32 [N]

    def __len__(self) -> int:
        return len(self.label)

    def slice(self, start: int, stop: int) -> EncodedTable:
        return EncodedTable(self.categorical[start:stop], self.numeric[start:stop], self.label[start:stop])


@dataclass
class TabularEncoder:
    """Fit on the train rows, then transform any rows (unseen ids go to the OOV bucket, never crash)."""

    min_count: int = 1
    hash_buckets: int | None = None
    numeric_transform: Literal["log1p", "none"] = "log1p"
    standardize: bool = True
    missing_indicators: bool = False
    vocabularies: dict[str, pl.DataFrame] = field(default_factory=dict)
    buckets: dict[str, int] = field(default_factory=dict)  # hashing: buckets per field
    stats: dict[str, tuple[float, float]] = field(default_factory=dict)
    indicator_columns: list[str] = field(default_factory=list)

    def fit(self, table: RawTable, n_train: int) -> FeatureSpec:
        _check_finite(table)
        train = table.frame.slice(0, n_train).lazy()
        if self.hash_buckets is not None:
            distinct = train.select([pl.col(c).n_unique() for c in table.categorical]).collect().row(0)
            self.buckets = {
                c: max(1, min(self.hash_buckets, 2 * n)) for c, n in zip(table.categorical, distinct, strict=True)
            }
        else:
            vocab_plans = [
                train.group_by(c)
                .len()
                .filter(pl.col(c).is_not_null() & (pl.col("len") >= self.min_count))
                .sort(["len", c], descending=[True, False])  # ties broken by value: deterministic ids
                .select(pl.col(c), pl.int_range(FIRST_ID, pl.len() + FIRST_ID, dtype=pl.Int32).alias("id"))
                for c in table.categorical
            ]
            self.vocabularies = dict(zip(table.categorical, pl.collect_all(vocab_plans), strict=True))
        numeric = [self._numeric_expr(c) for c in table.numeric]
        if numeric:
            moments = (
                train.select(
                    [e.mean().alias(f"{c}_mean") for c, e in zip(table.numeric, numeric, strict=True)]
                    + [e.std().alias(f"{c}_std") for c, e in zip(table.numeric, numeric, strict=True)]
                    + [pl.col(c).null_count().alias(f"{c}_nulls") for c in table.numeric]
                )
                .collect()
                .row(0, named=True)
            )
            for c in table.numeric:
                mean, std = moments[f"{c}_mean"], moments[f"{c}_std"]
                self.stats[c] = (mean or 0.0, std if std and std > 1e-12 else 1.0)
            if self.missing_indicators:
                self.indicator_columns = [c for c in table.numeric if moments[f"{c}_nulls"] > 0]
        return self.spec(table)

    def spec(self, table: RawTable) -> FeatureSpec:
        features = [Feature(c, "categorical", self._cardinality(c)) for c in table.categorical]
        features += [Feature(c, "numeric") for c in table.numeric]
        features += [Feature(f"{c}_missing", "numeric") for c in self.indicator_columns]
        return FeatureSpec(tuple(features), table.label)

    def _cardinality(self, column: str) -> int:
        if self.hash_buckets is not None:
            return FIRST_ID + self.buckets[column]
        return FIRST_ID + self.vocabularies[column].height

    def _numeric_expr(self, column: str) -> pl.Expr:
        x = pl.col(column).cast(pl.Float64)
        if self.numeric_transform == "log1p":  # counts are heavy-tailed; sign keeps Criteo's -1, -2
            x = x.sign() * x.abs().log1p()
        return x

    def _categorical_expr(self, column: str) -> pl.Expr:
        col = pl.col(column)
        if self.hash_buckets is not None:
            ids = (col.hash(_HASH_SEED) % self.buckets[column]).cast(pl.Int32) + FIRST_ID
        else:
            vocab = self.vocabularies[column]
            ids = col.replace_strict(
                vocab.get_column(column), vocab.get_column("id"), default=OOV, return_dtype=pl.Int32
            )
        return pl.when(col.is_null()).then(pl.lit(MISSING, pl.Int32)).otherwise(ids).alias(column)

    def transform(self, table: RawTable) -> EncodedTable:
        _check_finite(table)
        frame = table.frame
        n = frame.height
        cats = frame.select([self._categorical_expr(c) for c in table.categorical]) if table.categorical else None
        categorical = (
            np.ascontiguousarray(cats.to_numpy(), dtype=np.int32) if cats is not None else np.zeros((n, 0), np.int32)
        )
        numeric_exprs = []
        for c in table.numeric:
            mean, std = self.stats[c]
            x = self._numeric_expr(c)
            if self.standardize:
                x = (x - mean) / std
            numeric_exprs.append(x.fill_null(0.0 if self.standardize else mean).cast(pl.Float32).alias(c))
        numeric_exprs += [pl.col(c).is_null().cast(pl.Float32).alias(f"{c}_missing") for c in self.indicator_columns]
        numeric = (
            np.ascontiguousarray(frame.select(numeric_exprs).to_numpy(), dtype=np.float32)
            if numeric_exprs
            else np.zeros((n, 0), np.float32)
        )
        label = frame.get_column(table.label).cast(pl.Float32).to_numpy().copy()
        return EncodedTable(categorical, numeric, label)


def _check_finite(table: RawTable) -> None:
    """NaN or infinity in a numeric column would poison the statistics: name the first one."""
    floats = [c for c in table.numeric if table.frame.schema[c].is_float()]
    if not floats:
        return
    bad = table.frame.select([(pl.col(c).is_nan() | pl.col(c).is_infinite()).fill_null(False) for c in floats])
    for c in floats:
        rows = bad.get_column(c).arg_true()
        if rows.len():
            raise DataError(
                f"{table.source}: numeric feature {c} is NaN or infinite in data row {int(rows[0]) + 1} "
                f"({rows.len()} such value(s)). Clean the values or drop those rows before training."
            )
