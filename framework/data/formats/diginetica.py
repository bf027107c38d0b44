"""Diginetica (CIKM Cup 2016) `train-item-views.csv`: `;`-separated with a header,
`sessionId;userId;itemId;timeframe;eventdate` (`session_id`, `item_id` spellings accepted too; userId is
often NA and is not read). `timeframe` is the time of the view within its session (ms), `eventdate` the
session's day: a click's time is the day (in days since 1970) plus its timeframe.

A missing column or a non-integer id stops the read with a DataError naming the file and line.
The session protocol (sessions of one click and items seen fewer than 5 times dropped, the last days as
test) is applied by the data module (`dataset.min_item_count`, `dataset.test_days`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from framework.data.sessions.table import SessionTable
from framework.data.tabular.table import check_file
from framework.errors import DataError

COLUMNS = {
    "session": ("sessionId", "session_id"),
    "item": ("itemId", "item_id"),
    "timeframe": ("timeframe",),
    "date": ("eventdate",),
}


def read_diginetica(path: str, max_rows: int | None = None) -> SessionTable:
    file = check_file(path, "Diginetica item views")
    frame = pl.read_csv(file, separator=";", infer_schema=False, n_rows=max_rows)
    names = {}
    for role, spellings in COLUMNS.items():
        found = next((c for c in spellings if c in frame.columns), None)
        if found is None:
            raise DataError(
                f"{file}: no column {' or '.join(spellings)} in the header {frame.columns}. Expected "
                f"sessionId;userId;itemId;timeframe;eventdate (Diginetica's train-item-views.csv)."
            )
        names[role] = found
    frame = frame.with_row_index("line", offset=2)  # line 1 is the header
    typed = frame.select(
        "line",
        pl.col(names["session"]).cast(pl.Int64, strict=False).alias("session"),
        pl.col(names["item"]).cast(pl.Int64, strict=False).alias("item"),
        pl.col(names["timeframe"]).cast(pl.Float64, strict=False).alias("timeframe"),
        pl.col(names["date"]).str.to_date("%Y-%m-%d", strict=False).alias("date"),
    )
    for role, column in (("session", "session"), ("item", "item"), ("timeframe", "timeframe"), ("date", "date")):
        bad = typed.filter(pl.col(column).is_null())
        if bad.height:
            line = int(bad["line"][0])
            value = frame.filter(pl.col("line") == line)[names[role]][0]
            what = "a date (YYYY-MM-DD)" if role == "date" else "a number"
            raise DataError(
                f"{file}, line {line}: {names[role]} must be {what}, got {value!r} ({bad.height} such line(s))."
            )
    days = typed["date"].cast(pl.Int64).to_numpy().astype(np.float64)  # days since 1970-01-01
    return SessionTable(
        session=typed["session"].to_numpy(),
        item=typed["item"].to_numpy(),
        time=days + typed["timeframe"].to_numpy() / 86_400_000.0,  # in days
        source={"path": str(Path(file).resolve()), "rows": typed.height, "format": "diginetica"},
    )
