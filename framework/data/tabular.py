"""Raw tabular click logs: one polars frame plus the role of each column, and a strict delimited reader.

Every format reader returns a `RawTable`. The reader below reads each line once as a string, checks the
field count of every line, then splits: malformed files fail with the file, the line and the column,
instead of polars' byte offsets or, worse, silently null-filled short lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from framework.errors import DataError

_NO_SPLIT = "\x01"  # a separator that never occurs: read each line as a single field


@dataclass
class RawTable:
    """Rows in time order. `label` is 0/1; `numeric` are numbers (nullable); `categorical` are ids."""

    frame: pl.DataFrame
    label: str
    numeric: list[str]
    categorical: list[str]
    source: str  # shown in error messages and run records

    def __post_init__(self) -> None:
        if self.frame.height == 0:
            raise DataError(f"{self.source}: no data rows.")


def check_file(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(
            f"{what} file not found: {p}. Set dataset.path to the file "
            f"(an absolute path, or relative to the directory you run from)."
        )
    if p.is_dir():
        raise DataError(f"{what} path is a directory: {p}. Set dataset.path to the file itself.")
    if p.stat().st_size == 0:
        raise DataError(f"{what} file is empty: {p}.")
    return p


def read_lines(path: Path, max_rows: int | None, skip_header: bool) -> pl.Series:
    """All lines (CR of CRLF removed), gzip or plain. Empty trailing lines are dropped."""
    try:
        frame = pl.read_csv(
            path,
            separator=_NO_SPLIT,
            has_header=False,
            new_columns=["line"],
            schema={"line": pl.String},
            quote_char=None,
            n_rows=None if max_rows is None else max_rows + int(skip_header),
            empty_string_is_null=False,
            encoding="utf8-lossy",
        )
    except pl.exceptions.NoDataError as exc:
        raise DataError(f"{path}: the file has no lines.") from exc
    except pl.exceptions.ComputeError as exc:
        raise DataError(f"{path}: cannot be read as a text file of lines ({str(exc).splitlines()[0]}).") from exc
    lines = frame.get_column("line").str.strip_suffix("\r")
    if skip_header:
        lines = lines.slice(1)
    # A final empty line (or trailing blank lines) is not a record.
    while lines.len() and lines[-1] == "":
        lines = lines.slice(0, lines.len() - 1)
    if lines.len() == 0:
        raise DataError(f"{path}: the file has no data rows.")
    return lines


def split_fields(lines: pl.Series, separator: str, names: list[str], path: Path, first_line: int) -> pl.DataFrame:
    """Split each line into len(names) string fields; a line with another count is a DataError."""
    expected = len(names) - 1
    counts = lines.str.count_matches(separator, literal=True)
    bad = (counts != expected).arg_true()
    if bad.len():
        i = int(bad[0])
        raise DataError(
            f"{path}, line {i + first_line}: expected {len(names)} {_sep_name(separator)}-separated fields, "
            f"found {int(counts[i]) + 1} ({bad.len()} line(s) have a wrong field count)."
        )
    return (
        lines.str.split_exact(separator, expected)
        .struct.rename_fields(names)
        .struct.unnest()
        .with_columns(pl.all().replace("", None))  # empty field = missing value
    )


def _sep_name(separator: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon"}.get(separator, repr(separator))


def to_int(frame: pl.DataFrame, columns: list[str], path: Path, first_line: int, dtype=pl.Int64) -> pl.DataFrame:
    """Cast string columns to integers; a non-integer value (text, NaN, 1.5) is a DataError."""
    cast = frame.select([pl.col(c).cast(dtype, strict=False) for c in columns])
    for c in columns:
        bad = (cast.get_column(c).is_null() & frame.get_column(c).is_not_null()).arg_true()
        if bad.len():
            i = int(bad[0])
            raise DataError(
                f"{path}, line {i + first_line}, column {c}: expected an integer, found {frame.get_column(c)[i]!r} "
                f"({bad.len()} bad value(s) in {c})."
            )
    return frame.with_columns(cast)


def check_label(frame: pl.DataFrame, label: str, path: Path, first_line: int) -> None:
    values = frame.get_column(label)
    bad = (values.is_null() | ~values.is_in([0, 1])).arg_true()
    if bad.len():
        i = int(bad[0])
        raise DataError(
            f"{path}, line {i + first_line}, column {label}: the label must be 0 or 1, found {values[i]!r}."
        )
