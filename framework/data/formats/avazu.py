"""Avazu CTR prediction `train` CSV (Kaggle 2014, 40.4M rows over 10 days, in time order).

Header `id,click,hour,C1,banner_pos,site_id,...,C21`; LF or CRLF line ends; plain or gzip'd.
`hour` is YYMMDDHH: it becomes `hour_of_day` and `weekday` features; `id` is dropped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from framework.data.tabular.delimited import DelimitedFormat
from framework.data.tabular.table import RawTable
from framework.errors import DataError

LABEL = "click"
COLUMNS = [
    "id",
    "click",
    "hour",
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
]
CATEGORICAL = [c for c in COLUMNS if c not in ("id", "click", "hour")] + ["hour_of_day", "weekday"]


def _time_features(frame: pl.DataFrame, file: Path, first_line: int) -> pl.DataFrame:
    """`hour` (YYMMDDHH) -> hour_of_day and weekday; `id` and `hour` dropped."""
    stamp = (
        frame.get_column("hour")
        .cast(pl.String)
        .str.zfill(8)
        .str.pad_end(10, "0")
        .str.strptime(pl.Datetime, "%y%m%d%H%M", strict=False)
    )
    bad = stamp.is_null().arg_true()
    if bad.len():
        i = int(bad[0])
        raise DataError(
            f"{file}, line {i + first_line}, column hour: expected a YYMMDDHH time, found {frame['hour'][i]}."
        )
    return frame.with_columns(
        stamp.dt.hour().cast(pl.String).alias("hour_of_day"),
        stamp.dt.weekday().cast(pl.String).alias("weekday"),
    ).drop("id", "hour")


FORMAT = DelimitedFormat("Avazu", ",", COLUMNS, True, [LABEL, "hour"], LABEL, [], CATEGORICAL, _time_features)


def read_avazu(path: str, max_rows: int | None = None) -> RawTable:
    """Read an Avazu-format CSV (`train`, `train.gz`, or a slice with the same header)."""
    return FORMAT.read(path, max_rows)
