"""SNAP edge lists (snap.stanford.edu/data): one edge per line, `u v` or `u<TAB>v`, optionally a third
column with the edge's time (e.g. CollegeMsg, email-Eu-core-temporal: `SRC DST UNIXTS`); lines starting
with `#` are comments. ego-Facebook's `facebook_combined.txt` is undirected and space-separated.

A malformed line (one field, a non-integer id) stops the read with a DataError naming the file and line.
Self-loops and duplicate edges are not errors (SNAP files have them): `framework.data.graph.edges.clean`
drops and counts them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from framework.data.graph.edges import EdgeList
from framework.data.tabular.table import check_file, read_head
from framework.errors import DataError

_FIELDS = r"^\s*(\S+)\s+(\S+)(?:\s+(\S+))?\s*$"


def read_snap_edges(path: str, max_rows: int | None = None, use_time: bool = True) -> EdgeList:
    """Read a SNAP edge list. `max_rows` keeps the first edges (comments not counted); `use_time`: a
    third column is the edge's time (for `dataset.split_strategy=temporal`); false ignores it."""
    file = check_file(path, "SNAP edge list")
    text = read_head(file, None).decode("utf-8", "replace")
    lines = pl.DataFrame({"text": text.splitlines()}).with_row_index("line", offset=1)
    lines = lines.filter(
        ~pl.col("text").str.strip_chars().str.starts_with("#") & (pl.col("text").str.strip_chars() != "")
    )
    if max_rows is not None:
        lines = lines.head(max_rows)
    if lines.height == 0:
        raise DataError(f"{file}: no edges (every line is blank or a '#' comment).")
    fields = lines.with_columns(pl.col("text").str.extract_groups(_FIELDS).alias("f")).unnest("f")
    fields = fields.rename({"1": "u", "2": "v", "3": "t"})
    shape = fields.filter(pl.col("u").is_null())
    if shape.height:
        row = shape.row(0, named=True)
        raise DataError(
            f"{file}, line {row['line']}: expected 'node node' or 'node node time' separated by spaces or tabs, "
            f"got {row['text']!r}. Fix or remove the line ({shape.height} such line(s) in all)."
        )
    ids = fields.with_columns(
        pl.col("u").cast(pl.Int64, strict=False).alias("ui"), pl.col("v").cast(pl.Int64, strict=False).alias("vi")
    )
    bad = ids.filter(pl.col("ui").is_null() | pl.col("vi").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise DataError(
            f"{file}, line {row['line']}: node ids must be integers, got {row['u']!r} and {row['v']!r}. "
            f"({bad.height} such line(s) in all.)"
        )
    time = None
    if use_time and ids["t"].null_count() < ids.height:
        times = ids.with_columns(pl.col("t").cast(pl.Float64, strict=False).alias("ti"))
        bad = times.filter(pl.col("ti").is_null())
        if bad.height:
            row = bad.row(0, named=True)
            raise DataError(
                f"{file}, line {row['line']}: the third column (the edge's time) must be a number, got "
                f"{row['t']!r}; every line needs one once any line has it. Or set dataset.use_time=false."
            )
        time = times["ti"].to_numpy()
    return EdgeList(
        src=ids["ui"].to_numpy().astype(np.int64),
        dst=ids["vi"].to_numpy().astype(np.int64),
        time=time,
        source={"path": str(Path(file).resolve()), "lines": int(ids.height), "format": "snap"},
    )
