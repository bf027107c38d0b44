"""Train-split statistics the tabular encoder is fit from, added up chunk by chunk in bounded memory.

`TrainStatistics.update(frame)` adds a chunk of train rows: per categorical field, how often each value
occurs (null included: the hashing trick counts it as a distinct value); per numeric field, the count,
mean and sum of squared deviations of its (transformed) values, and how many are missing. Counts add
exactly; moments combine by Chan, Golub & LeVeque's pairwise update in float64, so chunks of any size
give the statistics of the whole to rounding (~1e-15 relative). One chunk = the in-memory fit.

Memory: the distinct values seen, per field: the merged counts plus the chunk counts not yet merged in
(merged when they outgrow the merged ones: at most ~2x the distinct values plus one chunk's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

COUNT = "_n"  # the count column of a value-count frame


@dataclass
class Moments:
    """Count, mean, sum of squared deviations (m2) and missing count of one numeric field."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    nulls: int = 0

    def add(self, n: int, mean: float | None, m2: float | None, nulls: int) -> None:
        """Merge in another chunk's moments (Chan et al. 1979: exact up to rounding, in any order)."""
        self.nulls += nulls
        if n == 0 or mean is None:
            return
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += (m2 or 0.0) + delta * delta * self.n * n / total
        self.n = total

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof=1, as polars' std); None below two values."""
        return math.sqrt(max(self.m2, 0.0) / (self.n - 1)) if self.n > 1 else None


class TrainStatistics:
    """Value counts and numeric moments of the train rows, updated one chunk at a time."""

    def __init__(self, categorical: list[str], numeric: dict[str, pl.Expr]) -> None:
        self.categorical = list(categorical)
        self.numeric = dict(numeric)  # field -> the expression of its (transformed) values; keeps missing missing
        self.moments = {c: Moments() for c in self.numeric}
        self.rows = 0
        self._merged: dict[str, pl.DataFrame] = {}
        self._pending: dict[str, list[pl.DataFrame]] = {c: [] for c in self.categorical}

    def update(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.rows += frame.height
        lazy = frame.lazy()
        counts = [lazy.group_by(c).agg(pl.len().cast(pl.Int64).alias(COUNT)) for c in self.categorical]
        exprs = []
        for c in self.numeric:  # on the transformed values, computed once (below) rather than per statistic
            x = pl.col(c)
            exprs += [
                x.count().alias(f"{c}:n"),
                x.mean().alias(f"{c}:mean"),
                ((x - x.mean()) ** 2).sum().alias(f"{c}:m2"),
                x.null_count().alias(f"{c}:nulls"),
            ]
        values = lazy.select([x.alias(c) for c, x in self.numeric.items()])
        moments = [values.select(exprs)] if exprs else []
        results = pl.collect_all(counts + moments)
        for c, chunk_counts in zip(self.categorical, results, strict=False):
            self._pending[c].append(chunk_counts)
        if exprs:
            row = results[-1].row(0, named=True)
            for c, m in self.moments.items():
                m.add(row[f"{c}:n"], row[f"{c}:mean"], row[f"{c}:m2"], row[f"{c}:nulls"])
        self._merge([c for c in self.categorical if sum(f.height for f in self._pending[c]) > self._merged_rows(c)])

    def value_counts(self, column: str) -> pl.DataFrame:
        """(value, count) of every distinct train value of a categorical field, null included."""
        if self._pending[column]:
            self._merge([column])
        return self._merged.get(column, pl.DataFrame(schema={column: pl.Null, COUNT: pl.Int64}))

    def _merged_rows(self, column: str) -> int:
        return max(self._merged[column].height if column in self._merged else 0, 1 << 16)

    def _merge(self, fields: list[str]) -> None:
        """Fold the pending chunk counts of `fields` into their merged counts, one field at a time: the peak is
        one field's merge (each group_by runs in parallel itself), not all of them at once."""
        for c in fields:
            frames = [self._merged[c], *self._pending[c]] if c in self._merged else self._pending[c]
            self._merged[c] = pl.concat(frames).group_by(c).agg(pl.col(COUNT).sum())
            self._pending[c] = []
