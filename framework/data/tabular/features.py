"""The data -> model contract (`FeatureSpec`) and the tabular encoder that produces it.

Categorical ids become small integers per field: 0 = out of vocabulary (rare in train, or unseen),
1 = missing, 2.. = the vocabulary fit on the train split only, most frequent first. With
`hash_buckets` the vocabulary is replaced by the hashing trick (2 + hash % buckets), with at most
`hash_buckets` buckets per field and no more than twice the field's distinct train values (a field of
three values does not need a million rows). Numeric fields get
an optional signed log1p, then train-split standardisation; missing values become 0 (the train mean).
The encoder is fit from `TrainStatistics` (value counts, moments), which add up chunk by chunk: a file
too large for memory is fit and transformed a chunk at a time (`out_of_core.py`) with the same result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from framework.data.tabular.statistics import COUNT, TrainStatistics
from framework.data.tabular.table import RawTable
from framework.errors import DataError

OOV, MISSING, FIRST_ID = 0, 1, 2
STATE_VERSION = 1  # of `TabularEncoder.state()`: bump when its layout changes
ENCODER_FILE = "encoder.json"  # the state's file name in a cache entry, a run dir and a serving artefact
_HASH_SEED = 20240611  # fixed: hashed ids must not change between runs
_SLICE_ROWS = 1 << 18  # rows transformed at a time


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
        check_finite(table)
        statistics = self.statistics(table)
        statistics.update(table.frame.slice(0, n_train))
        return self.fit_statistics(statistics, table)

    def statistics(self, table: RawTable) -> TrainStatistics:
        """Empty statistics for `table`'s fields: update them with train rows, then `fit_statistics`."""
        return TrainStatistics(table.categorical, {c: self._numeric_expr(c) for c in table.numeric})

    def fit_statistics(self, statistics: TrainStatistics, table: RawTable) -> FeatureSpec:
        """Vocabularies (or hash buckets) and numeric moments from the train rows' statistics."""
        if self.hash_buckets is not None:
            distinct = {c: statistics.value_counts(c).height for c in table.categorical}  # null counts as a value
            self.buckets = {c: max(1, min(self.hash_buckets, 2 * n)) for c, n in distinct.items()}
        else:
            self.vocabularies = {
                c: statistics.value_counts(c)
                .filter(pl.col(c).is_not_null() & (pl.col(COUNT) >= self.min_count))
                .sort([COUNT, c], descending=[True, False])  # ties broken by value: deterministic ids
                .select(pl.col(c), pl.int_range(FIRST_ID, pl.len() + FIRST_ID, dtype=pl.Int32).alias("id"))
                for c in table.categorical
            }
        for c in table.numeric:
            moments = statistics.moments[c]
            std = moments.std
            self.stats[c] = (moments.mean if moments.n else 0.0, std if std and std > 1e-12 else 1.0)
        if self.missing_indicators:
            self.indicator_columns = [c for c in table.numeric if statistics.moments[c].nulls > 0]
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
            values = vocab.get_column(column)
            if values.dtype == pl.String:  # position in an Enum of the vocabulary (in id order): ~2x replace_strict
                position = col.cast(pl.Enum(values), strict=False).to_physical().cast(pl.Int32)
                ids = (position + FIRST_ID).fill_null(OOV)
            else:
                ids = col.replace_strict(values, vocab.get_column("id"), default=OOV, return_dtype=pl.Int32)
        return pl.when(col.is_null()).then(pl.lit(MISSING, pl.Int32)).otherwise(ids).alias(column)

    def transform(self, table: RawTable) -> EncodedTable:
        check_finite(table)
        frame, n = table.frame, table.frame.height
        categorical = [self._categorical_expr(c) for c in table.categorical]
        numeric = self.numeric_exprs(table.numeric)
        label = frame.get_column(table.label).cast(pl.Float32).to_numpy().copy()
        out = EncodedTable(np.empty((n, len(categorical)), np.int32), np.empty((n, len(numeric)), np.float32), label)
        for start in range(0, n, _SLICE_ROWS):  # a slice at a time: the expressions' temporaries stay small
            part = frame.slice(start, _SLICE_ROWS)
            stop = start + part.height
            if categorical:
                out.categorical[start:stop] = part.select(categorical).to_numpy()
            if numeric:
                out.numeric[start:stop] = part.select(numeric).to_numpy()
        return out

    def state(self, table: RawTable) -> dict[str, Any]:
        """Everything `transform` needs, as plain JSON: the settings, the raw columns and their dtypes (the
        hashing trick hashes the dtype's bytes: a request must arrive as the same dtype), the vocabularies
        (values in id order: value i has id FIRST_ID + i), hash buckets and numeric statistics."""
        return {
            "version": STATE_VERSION,
            "settings": {
                "min_count": self.min_count,
                "hash_buckets": self.hash_buckets,
                "numeric_transform": self.numeric_transform,
                "standardize": self.standardize,
                "missing_indicators": self.missing_indicators,
            },
            "ids": {"oov": OOV, "missing": MISSING, "first": FIRST_ID, "hash_seed": _HASH_SEED},
            "polars": pl.__version__,  # hashed ids are stable within a polars version only
            "label": table.label,
            "categorical": list(table.categorical),
            "numeric": list(table.numeric),
            "dtypes": {c: str(table.frame.schema[c]) for c in [*table.categorical, *table.numeric]},
            "vocabularies": {c: v.get_column(c).to_list() for c, v in self.vocabularies.items()},
            "buckets": dict(self.buckets),
            "stats": {c: list(ms) for c, ms in self.stats.items()},
            "indicator_columns": list(self.indicator_columns),
        }

    @staticmethod
    def from_state(state: dict[str, Any]) -> TabularEncoder:
        """The fitted encoder `state()` describes (transforms rows to the same ids and values)."""
        if state.get("version") != STATE_VERSION:
            raise DataError(f"encoder state version {state.get('version')!r}, this code reads {STATE_VERSION}.")
        encoder = TabularEncoder(**state["settings"])
        dtypes = {c: polars_dtype(state["dtypes"][c]) for c in state["vocabularies"]}
        encoder.vocabularies = {
            c: pl.DataFrame(
                {
                    c: pl.Series(c, values, dtype=dtypes[c]),
                    "id": pl.int_range(FIRST_ID, len(values) + FIRST_ID, eager=True),
                }
            ).with_columns(pl.col("id").cast(pl.Int32))
            for c, values in state["vocabularies"].items()
        }
        encoder.buckets = {c: int(n) for c, n in state["buckets"].items()}
        encoder.stats = {c: (float(m), float(s)) for c, (m, s) in state["stats"].items()}
        encoder.indicator_columns = list(state["indicator_columns"])
        return encoder

    def numeric_exprs(self, columns: list[str]) -> list[pl.Expr]:
        """The numeric features of `columns` (transformed, standardised, missing filled), then the indicators."""
        numeric = [self._standardized_expr(c) for c in columns]
        return numeric + [pl.col(c).is_null().cast(pl.Float32).alias(f"{c}_missing") for c in self.indicator_columns]

    def _standardized_expr(self, column: str) -> pl.Expr:
        mean, std = self.stats[column]
        x = self._numeric_expr(column)
        if self.standardize:
            x = (x - mean) / std
        return x.fill_null(0.0 if self.standardize else mean).cast(pl.Float32).alias(column)


def polars_dtype(name: str) -> pl.DataType:
    """A polars dtype from its str() (`UInt32`, `String`, `Int64`, ...)."""
    dtype = getattr(pl, name, None)
    if dtype is None:
        raise DataError(f"encoder state: unknown column dtype {name!r}")
    return dtype


def check_finite(table: RawTable) -> None:
    """NaN or infinity in a numeric column would poison the statistics: name the first one."""
    floats = [c for c in table.numeric if table.frame.schema[c].is_float()]
    if not floats:
        return
    bad = table.frame.select([(pl.col(c).is_nan() | pl.col(c).is_infinite()).fill_null(False) for c in floats])
    for c in floats:
        rows = bad.get_column(c).arg_true()
        if rows.len():
            raise DataError(
                f"{table.source}: numeric feature {c} is NaN or infinite in data row "
                f"{table.row_offset + int(rows[0]) + 1} "
                f"({rows.len()} such value(s)). Clean the values or drop those rows before training."
            )
