"""Raw rows -> the tensors training used, with the encoder fit on the run's train split.

The encoding itself is `TabularEncoder.transform` (the training code, rebuilt from its saved state), so a
request gets the same ids and values as training did: an unseen or rare id -> the out-of-vocabulary id 0,
a missing id -> 1, a missing number -> the train mean (0 after standardisation). What this module adds is
the checking a request needs before that: every column the model needs is present, each categorical
column casts to its training dtype (the hashing trick hashes the dtype's bytes: 7 as Int64 and 7 as
UInt32 hash differently), numbers are numbers and never NaN or infinite.

    >>> encoder = RowEncoder(artifact.encoder)
    >>> batch = encoder.encode(pl.DataFrame({...}), source="request")   # EncodedRows(categorical, numeric)
    >>> encoder.encode(request_frame({"I1": 3}, [{"C1": 17}, {"C1": 99}]))  # one context, two candidates
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from framework.data.tabular.features import FIRST_ID, MISSING, OOV, TabularEncoder, polars_dtype
from framework.data.tabular.table import RawTable
from framework.errors import DataError

_NO_LABEL = "__mlsd_no_label__"  # transform() reads a label column; requests have none


@dataclass
class EncodedRows:
    """What every backend scores: categorical ids int64 [N, F] and numeric values float32 [N, D]."""

    categorical: np.ndarray
    numeric: np.ndarray

    def __len__(self) -> int:
        return len(self.categorical)

    @staticmethod
    def concat(parts: Sequence[EncodedRows]) -> EncodedRows:
        """Several requests' rows as one batch (score it once, then `np.split` the scores at `offsets`)."""
        if len(parts) == 1:
            return parts[0]
        return EncodedRows(np.concatenate([p.categorical for p in parts]), np.concatenate([p.numeric for p in parts]))

    @staticmethod
    def offsets(parts: Sequence[EncodedRows]) -> list[int]:
        """Where each part after the first starts in `concat(parts)`."""
        return np.cumsum([len(p) for p in parts])[:-1].tolist()


class RowEncoder:
    """Checks and encodes raw rows (a polars frame with the training column names) for the model."""

    def __init__(self, state: dict[str, Any]) -> None:
        if state["settings"]["hash_buckets"] is not None and state["polars"] != pl.__version__:
            raise DataError(
                f"this artefact hashes ids with polars {state['polars']}'s hash, this process has polars "
                f"{pl.__version__}: hashed ids would differ from training's. Install polars=={state['polars']}."
            )
        self.encoder = TabularEncoder.from_state(state)
        self.categorical: list[str] = list(state["categorical"])
        self.numeric: list[str] = list(state["numeric"])
        self.dtypes = {c: polars_dtype(state["dtypes"][c]) for c in self.categorical}
        # Vocabularies as sorted arrays: 100 rows are looked up in well under a millisecond, where polars'
        # replace_strict builds a hash table of every vocabulary on each call (~10 ms for 26 fields).
        self.lookups: dict[str, VocabularyLookup] | None = None
        if state["settings"]["hash_buckets"] is None:
            self.lookups = {
                c: VocabularyLookup(state["vocabularies"][c], self.dtypes[c] == pl.String) for c in self.categorical
            }

    @property
    def columns(self) -> list[str]:
        """The raw columns a row must have (extra columns are ignored)."""
        return [*self.categorical, *self.numeric]

    def schema(self) -> dict[str, pl.DataType]:
        """Dtypes to read a file with: categorical ids as in training (a hex id '00ab' must stay a string)."""
        return {**self.dtypes, **dict.fromkeys(self.numeric, pl.Float64)}

    def encode(
        self, frame: pl.DataFrame, source: str = "request", row_offset: int = 0, checked: bool = False
    ) -> EncodedRows:
        """Encode `frame`'s rows; a DataError names `source`, the column and the row (1-based, after
        `row_offset` earlier rows) of the first problem. `checked=True`: `frame` is already `checked()`'s
        output (a server checks each request alone, then encodes several together)."""
        if not checked:
            frame = self.checked(frame, source, row_offset)
        if self.lookups is None:  # the hashing trick: polars' hash, as in training
            table = RawTable(frame, _NO_LABEL, self.numeric, self.categorical, source, row_offset)
            encoded = self.encoder.transform(table)
            return EncodedRows(encoded.categorical.astype(np.int64), encoded.numeric)
        # one query per kind of column (polars' cost is per call, not per row); then numpy per field
        nulls = frame.select(pl.col(c).is_null() for c in self.categorical).to_numpy()
        texts = [c for c in self.categorical if self.lookups[c].text]
        numbers = [c for c in self.categorical if not self.lookups[c].text]
        values = {}
        if numbers:
            block = frame.select(pl.col(c).fill_null(0).cast(pl.Int64) for c in numbers).to_numpy()
            values.update((c, block[:, j]) for j, c in enumerate(numbers))
        if texts:
            block = frame.select(pl.col(c).fill_null("") for c in texts).to_numpy()
            values.update((c, block[:, j]) for j, c in enumerate(texts))
        categorical = np.empty((frame.height, len(self.categorical)), np.int64)
        for j, column in enumerate(self.categorical):
            categorical[:, j] = self.lookups[column](values[column], nulls[:, j])
        exprs = self.encoder.numeric_exprs(self.numeric)
        numeric = (
            frame.select(exprs).to_numpy().astype(np.float32) if exprs else np.empty((frame.height, 0), np.float32)
        )
        return EncodedRows(categorical, numeric)

    def checked(self, frame: pl.DataFrame, source: str, row_offset: int = 0) -> pl.DataFrame:
        """`frame`'s model columns cast to their training dtypes, plus the placeholder label."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: column {missing[0]} is missing"
                + (
                    f" (and {len(missing) - 1} more: {', '.join(missing[1:6])}{'...' if len(missing) > 6 else ''})"
                    if len(missing) > 1
                    else ""
                )
                + f". The model needs the columns: {', '.join(self.columns)}."
            )
        want = {**self.dtypes, **dict.fromkeys(self.numeric, pl.Float64)}
        cast = frame.select(pl.col(c).cast(want[c], strict=False) for c in self.columns)
        # one query flags the columns with a problem (cheap on a request of a few rows); only those are searched
        lost = [(pl.col(c).cast(want[c], strict=False).is_null() & pl.col(c).is_not_null()).any() for c in self.columns]
        odd = [(~pl.col(c).cast(pl.Float64, strict=False).is_finite()).fill_null(False).any() for c in self.numeric]
        flags = frame.select(*lost, *[o.alias(f"__odd_{c}") for o, c in zip(odd, self.numeric, strict=True)]).row(0)
        for c, flagged in zip(self.columns, flags, strict=False):  # strict=False turned what does not fit into null
            if flagged:
                bad = (cast.get_column(c).is_null() & frame.get_column(c).is_not_null()).arg_true()
                i = int(bad[0])
                raise DataError(
                    f"{source}, row {row_offset + i + 1}, column {c}: expected {_describe(want[c])} as in training, "
                    f"found {frame.get_column(c)[i]!r} ({bad.len()} such value(s) in {c})."
                )
        for c, flagged in zip(self.numeric, flags[len(self.columns) :], strict=True):
            if flagged:
                bad = (cast.get_column(c).is_nan() | cast.get_column(c).is_infinite()).fill_null(False).arg_true()
                raise DataError(
                    f"{source}, row {row_offset + int(bad[0]) + 1}, column {c}: NaN or infinite "
                    f"({bad.len()} such value(s)). Leave a missing number empty (null): it is encoded as in training."
                )
        return cast.with_columns(pl.lit(0, pl.Int8).alias(_NO_LABEL))


class VocabularyLookup:
    """Training's id of each value: FIRST_ID + its position in the vocabulary (values in id order), OOV for
    a value not in it, MISSING for null; `TabularEncoder._categorical_expr`'s mapping, by binary search."""

    def __init__(self, values: list[Any], text: bool) -> None:
        array = np.asarray(values, dtype=np.str_ if text else np.int64)
        order = np.argsort(array, kind="stable")
        self.text = text
        self.sorted, self.ids = array[order], (order + FIRST_ID).astype(np.int64)

    def __call__(self, values: np.ndarray, nulls: np.ndarray) -> np.ndarray:
        """Ids of `values` (int64, or str for a text field; anything where `nulls`)."""
        out = np.full(len(values), OOV, np.int64)
        if len(self.sorted) and len(values):
            values = values.astype(np.str_) if self.text else values  # the vocabulary's dtype: no copy of it
            position = np.minimum(np.searchsorted(self.sorted, values), len(self.sorted) - 1)
            found = self.sorted[position] == values
            out[found] = self.ids[position[found]]
        out[nulls] = MISSING
        return out


def _describe(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return "a string id"
    if dtype.is_integer():
        return f"an integer id ({dtype})"
    return "a number"


def request_frame(context: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """One request as rows: the context's fields (the user, the page, the time) repeated for each candidate,
    a candidate's own fields (the ad) beside them; a field in both takes the candidate's value."""
    if not candidates:
        raise DataError("request: no candidates to score.")
    names = list(dict.fromkeys([*context, *(k for c in candidates for k in c)]))
    columns = {n: [c.get(n, context.get(n)) for c in candidates] for n in names}
    return pl.DataFrame(columns, strict=False)
