"""Request JSON -> model arrays without a polars frame: the fast path of a server's small requests.

A ranking request holds a few hundred rows. Through polars (`RowEncoder`: build a frame, cast and check
every column, then encode) the cost is per column and per call, not per row: ~5 ms for Criteo's 39
columns, several times the model. This encoder takes the request's context and candidates straight to the
arrays: `RowEncoder`'s own vocabulary lookups (training's ids: 0 = unseen or rare, 1 = missing) on numpy
arrays built from the JSON values, and `TabularEncoder`'s numeric expression (signed log1p, train-split
standardisation, missing -> 0) in numpy: the same ids, and the same values to float rounding
(tests/serving/test_lookup.py checks both against the training encoder).

It covers the usual request and says so by returning None otherwise, so the caller takes the polars path,
which also writes the error message: vocabulary encoders only (the hashing trick hashes with polars'
hash), categorical values that are ints of the column's integer range (strs for a string vocabulary) or
null, numbers that are finite ints or floats or null, every column present in the context or the
candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from framework.serving.encode import EncodedRows, RowEncoder

_INT_RANGES = {
    **{f"Int{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    **{f"UInt{b}": (0, 2**b - 1) for b in (8, 16, 32, 64)},
}


class LookupEncoder:
    """A request's JSON -> the model's arrays through `RowEncoder`'s vocabulary lookups, without a frame."""

    def __init__(self, rows: RowEncoder, state: Mapping[str, Any]) -> None:
        settings = state["settings"]
        self.lookups = rows.lookups  # None for the hashing trick: polars' hash only
        self.categorical, self.numeric = rows.categorical, rows.numeric
        self.ranges = {c: _INT_RANGES.get(state["dtypes"][c]) for c in self.categorical}  # None: string ids
        self.supported = self.lookups is not None and all(
            state["dtypes"][c] == "String" or self.ranges[c] is not None for c in self.categorical
        )
        stats = [state["stats"][c] for c in self.numeric]
        self.mean = np.array([m for m, _ in stats], np.float64)
        self.std = np.array([s for _, s in stats], np.float64)
        self.log1p = settings["numeric_transform"] == "log1p"
        self.standardize = bool(settings["standardize"])
        self.indicators = [self.numeric.index(c) for c in state["indicator_columns"]]

    def encode(self, context: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]) -> EncodedRows | None:
        """The request's arrays, or None when it is not the usual request (see the module docstring)."""
        if not self.supported or not candidates:
            return None
        n = len(candidates)
        categorical = np.empty((n, len(self.categorical)), np.int64)
        for j, column in enumerate(self.categorical):
            values = self._column(column, context, candidates)
            if values is None:
                return None
            nulls = np.fromiter((v is None for v in values), bool, n)
            bounds = self.ranges[column]
            if bounds is None:
                if not all(type(v) is str for v, null in zip(values, nulls, strict=True) if not null):
                    return None
                array = np.array(["" if v is None else v for v in values], dtype=np.str_)
            else:
                if not all(
                    type(v) is int and bounds[0] <= v <= bounds[1]
                    for v, null in zip(values, nulls, strict=True)
                    if not null
                ):
                    return None
                array = np.array([0 if v is None else v for v in values], dtype=np.int64)
            categorical[:, j] = self.lookups[column](array, nulls)
        values = np.empty((n, len(self.numeric)), np.float64)
        for j, column in enumerate(self.numeric):
            column_values = self._column(column, context, candidates)
            if column_values is None:
                return None
            for i, value in enumerate(column_values):
                if value is None:
                    values[i, j] = math.nan
                elif (type(value) is float or type(value) is int) and math.isfinite(value):
                    values[i, j] = value
                else:
                    return None
        return EncodedRows(categorical, self._numeric(values))

    @staticmethod
    def _column(column: str, context: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]) -> list | None:
        """The column's value for each candidate (a candidate's own field wins, even a null one); None when
        neither it nor the context has the column (the polars path names it)."""
        if column in context:
            shared = context[column]
            return [c.get(column, shared) for c in candidates]  # a candidate's own null stays null
        if all(column in c for c in candidates):
            return [c[column] for c in candidates]
        return None

    def _numeric(self, x: np.ndarray) -> np.ndarray:
        """TabularEncoder's numeric expression: signed log1p, standardisation, missing -> 0 (or the mean)."""
        missing = np.isnan(x)
        if self.log1p:
            x = np.sign(x) * np.log1p(np.abs(x))
        if self.standardize:
            x = (x - self.mean) / self.std
        x = np.where(missing, 0.0 if self.standardize else self.mean, x).astype(np.float32)
        if self.indicators:
            x = np.concatenate([x, missing[:, self.indicators].astype(np.float32)], axis=1)
        return x
