"""Strings-first CSV reading with line numbers: each column is read as text, then cast, so a value that does
not cast is a DataError naming the file, the line and the value (the Kaggle event tables' reader uses it).

    frame, file = read_text_csv("train.csv", "Kaggle train.csv", ["user", "event"], "user,event,...")
    users = int_ids(frame, "user", file)          # a non-integer id names its line
"""

from __future__ import annotations

import polars as pl

from framework.data.tabular.table import check_file
from framework.errors import DataError


def read_text_csv(
    path: str, what: str, header: list[str], layout: str, max_rows: int | None = None
) -> tuple[pl.DataFrame, str]:
    """The file as strings with a `line` column (1-based line numbers), and its name for messages; a missing
    column is a DataError."""
    file = check_file(path, what)
    frame = pl.read_csv(file, infer_schema=False, n_rows=max_rows)
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in header if c not in frame.columns]
    if missing:
        raise DataError(
            f"{file}: no column {', '.join(missing)} in the header {frame.columns[:12]}. Expected {layout}."
        )
    return frame.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64)), str(file)


def checked_cast(
    frame: pl.DataFrame, typed: pl.Series, raw: str, file: str, must: str, optional: bool = False
) -> pl.Series:
    """`typed` (the cast of column `raw`); a value that is not castable (or empty, unless `optional`) is a
    DataError naming the first such line."""
    bad = typed.is_null() & frame[raw].is_not_null() if optional else typed.is_null()
    if bad.any():
        at = int(bad.arg_true()[0])
        raise DataError(
            f"{file}, line {frame['line'][at]}: {raw} must be {must}, got {frame[raw][at]!r} "
            f"({int(bad.sum())} such line(s)). Fix or remove the line(s)."
        )
    return typed


def int_ids(frame: pl.DataFrame, column: str, file: str) -> pl.Series:
    typed = frame[column].str.strip_chars().cast(pl.Int64, strict=False)
    return checked_cast(frame, typed, column, file, "an integer id")


def id_lists(frame: pl.DataFrame, key: str, lists: str, file: str) -> pl.DataFrame:
    """(key, member) pairs from a column of space-separated ids; a non-integer member names its line."""
    long = (
        frame.select("line", pl.col(key), pl.col(lists).str.strip_chars().str.split(" ").alias("member"))
        .explode("member")
        .filter(pl.col("member").is_not_null() & (pl.col("member") != ""))
    )
    member = long["member"].cast(pl.Int64, strict=False)
    checked_cast(long.rename({"member": lists}), member, lists, file, "space-separated integer ids")
    return pl.DataFrame({key: long[key], "member": member}).unique(maintain_order=True)
