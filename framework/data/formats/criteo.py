"""Criteo Display Advertising Challenge `train.txt` (Kaggle 2014, 45.8M rows in time order).

Each line: label, I1..I13 (integer counts, may be negative), C1..C26 (32-bit hashes as 8 hex chars),
separated by tabs; an empty field is a missing value, so lines may end in tabs. Plain or gzip'd.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from framework.data.tabular.delimited import DelimitedFormat
from framework.data.tabular.table import RawTable

LABEL = "label"
NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
COLUMNS = [LABEL, *NUMERIC, *CATEGORICAL]
FORMAT = DelimitedFormat("Criteo", "\t", COLUMNS, False, [LABEL, *NUMERIC], LABEL, NUMERIC, CATEGORICAL)


def read_criteo(path: str, max_rows: int | None = None) -> RawTable:
    """Read a DAC-format file (`train.txt`, optionally .gz); `max_rows` caps the rows read."""
    return FORMAT.read(path, max_rows)


def write_criteo(table: RawTable, path: str | Path, append: bool = False) -> Path:
    """Write a Criteo-shaped RawTable as a DAC `train.txt` (tabs, empty = missing; integer ids as 8 hex chars).

    Used to make Criteo-format files of any size from the synthetic click log (benchmarks, tests); `append`
    adds the rows to the end of the file, so a large file can be written a piece at a time.
    """
    frame = table.frame.select([LABEL, *NUMERIC, *CATEGORICAL])
    hex_columns = {c: _hex8(frame.get_column(c)) for c in CATEGORICAL if frame.schema[c].is_integer()}
    out = frame.with_columns(**hex_columns) if hex_columns else frame
    path = Path(path)
    with path.open("ab" if append else "wb") as f:
        out.write_csv(f, separator="\t", include_header=False, null_value="", quote_style="never")
    return path


def _hex8(values: pl.Series) -> pl.Series:
    """uint32 ids -> 8 lower-case hex chars, vectorised (nulls stay null)."""
    ids = values.fill_null(0).cast(pl.UInt32).to_numpy()
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((len(ids), 8), dtype=np.uint8)
    for k in range(8):
        chars[:, k] = digits[(ids >> (28 - 4 * k)) & 0xF]
    hexed = pl.Series(values.name, chars.view("S8").ravel()).cast(pl.String)
    return hexed.set(values.is_null(), None) if values.null_count() else hexed
