"""Criteo Display Advertising Challenge `train.txt` (Kaggle 2014, 45.8M rows in time order).

Each line: label, I1..I13 (integer counts, may be negative), C1..C26 (32-bit hashes as 8 hex chars),
separated by tabs; an empty field is a missing value, so lines may end in tabs. Plain or gzip'd.
"""

from __future__ import annotations

from framework.data.tabular import RawTable, check_file, check_label, read_lines, split_fields, to_int

LABEL = "label"
NUMERIC = [f"I{i}" for i in range(1, 14)]
CATEGORICAL = [f"C{i}" for i in range(1, 27)]
COLUMNS = [LABEL, *NUMERIC, *CATEGORICAL]


def read_criteo(path: str, max_rows: int | None = None) -> RawTable:
    """Read a DAC-format file (`train.txt`, optionally .gz); `max_rows` caps the rows read."""
    file = check_file(path, "Criteo")
    frame = split_fields(read_lines(file, max_rows, skip_header=False), "\t", COLUMNS, file, first_line=1)
    frame = to_int(frame, [LABEL, *NUMERIC], file, first_line=1)
    check_label(frame, LABEL, file, first_line=1)
    return RawTable(frame, LABEL, NUMERIC, CATEGORICAL, source=str(file))
