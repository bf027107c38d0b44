"""Delimited click-log formats (Criteo, Avazu): one description, read whole or in chunks of rows.

A `DelimitedFormat` says how a file is laid out (separator; a header line or fixed column names; which
columns are integers), what the columns are (label, numeric, categorical), and, optionally, a step that
checks and derives columns (Avazu's hour -> hour of day, weekday). `read` gives the whole file as one
RawTable; `index` + `chunks` give it `chunk_rows` rows at a time for the out-of-core path
(`framework/data/tabular/out_of_core.py`), with the same checks and the right line numbers in every error.
A format module exposes its description as `FORMAT`, and its reader is `FORMAT.read`:

    >>> FORMAT = DelimitedFormat("Criteo", "\\t", COLUMNS, False, [LABEL, *NUMERIC], LABEL, NUMERIC, CATEGORICAL)
    >>> index = FORMAT.index("train.txt", chunk_rows=1_000_000, max_rows=None)   # FORMAT.n_rows(index) rows
    >>> for first_row, table in FORMAT.chunks("train.txt", index): ...
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from framework.data.tabular.lines import LineIndex, index_lines, line_blocks
from framework.data.tabular.table import (
    RawTable,
    check_file,
    check_label,
    parse_delimited,
    parse_header,
    read_delimited,
)
from framework.errors import DataError

# Checks and derived columns of one block of rows: (frame, file, line number of its first row) -> frame.
Derive = Callable[[pl.DataFrame, Path, int], pl.DataFrame]


@dataclass(frozen=True)
class DelimitedFormat:
    what: str  # the format's name in messages: "Criteo file not found: ..."
    separator: str
    columns: list[str]  # no header: every column, in order; with a header: the columns it must name
    has_header: bool
    int_columns: list[str]
    label: str
    numeric: list[str]
    categorical: list[str]
    derive: Derive | None = None

    def read(self, path: str, max_rows: int | None = None) -> RawTable:
        """The first `max_rows` rows (all: None) as one table."""
        file = check_file(path, self.what)
        names = None if self.has_header else self.columns
        frame, first_line = read_delimited(file, self.separator, names, self.int_columns, max_rows)
        if self.has_header:
            self._check_header(frame.columns, file)
        return self._table(frame, file, first_line, 0)

    def index(self, path: str, chunk_rows: int, max_rows: int | None = None) -> LineIndex:
        """Where the chunks of `chunk_rows` data rows end, among the rows `read` would give (one pass over the
        bytes, no parsing). `n_rows(index)` is their number."""
        file = check_file(path, self.what)
        header = int(self.has_header)
        index = index_lines(file, chunk_rows, None if max_rows is None else max_rows + header, header)
        if index.n_lines == 0:
            raise DataError(f"{file}: the file has no data rows.")
        if index.n_lines == header:
            raise DataError(f"{file}: the file has a header but no data rows.")
        return index

    def n_rows(self, index: LineIndex) -> int:
        return index.n_lines - int(self.has_header)

    def chunks(self, path: str, index: LineIndex, skip: Container[int] = ()) -> Iterator[tuple[int, RawTable | None]]:
        """(first row, table) per chunk of `index`; a chunk whose first row is in `skip` is read past
        without parsing (None)."""
        file = check_file(path, self.what)
        header = int(self.has_header)
        blocks = line_blocks(file, index)
        names = self.columns
        if self.has_header:
            names = parse_header(next(blocks).rstrip(b"\r\n"), self.separator)
            self._check_header(names, file)
        for k, block in enumerate(blocks):
            start = k * index.block_lines
            if start in skip:
                yield start, None
                continue
            first_line = start + header + 1
            frame = parse_delimited(block, self.separator, names, self.int_columns, file, first_line)
            del block  # the bytes go before the caller works on the table
            table = [self._table(frame, file, first_line, start)]
            del frame  # no reference left here while the caller works and the next block is read
            yield start, table.pop()

    def _check_header(self, names: list[str], file: Path) -> None:
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise DataError(
                f"{file}, line 1 (header): missing column(s) {', '.join(missing)}. "
                f"{self.what} files start with: {self.separator.join(self.columns)}"
            )

    def _table(self, frame: pl.DataFrame, file: Path, first_line: int, row_offset: int) -> RawTable:
        if self.has_header:
            frame = frame.select(self.columns)
        check_label(frame, self.label, file, first_line)
        if self.derive is not None:
            frame = self.derive(frame, file, first_line)
        return RawTable(frame, self.label, self.numeric, self.categorical, str(file), row_offset)
