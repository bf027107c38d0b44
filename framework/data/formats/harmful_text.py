"""Readers of the two real harmful-content formats (text only): Jigsaw's toxic comments and Davidson et al.'s
hate-speech tweets. Both are RFC-4180 CSV whose quoted text spans several physical lines, so a record's
number is not its line number: the reader counts physical lines, and every message names the line a bad
record starts on (an unterminated quote, a missing field, a label that is not 0/1).

    read_jigsaw("train.csv")          id, comment_text, toxic, severe_toxic, obscene, threat, insult, identity_hate
    read_davidson("labeled_data.csv") (index), count, hate_speech, offensive_language, neither, class, tweet

Jigsaw's six labels are multi-label (a comment can be toxic and an insult). Davidson's `class` (0 hate speech,
1 offensive language, 2 neither: the coders' majority) becomes three exclusive 0/1 columns, scored
one-vs-rest as in the paper; the coders' vote counts are kept in the run record's summary.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from framework.data.moderation.table import PostTable
from framework.data.tabular.table import check_file
from framework.errors import DataError

JIGSAW_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
DAVIDSON_CLASSES = ("hate_speech", "offensive_language", "neither")  # `class` 0, 1, 2
DAVIDSON_VOTES = ("count", "hate_speech", "offensive_language", "neither")


def records(path: Path, what: str, max_rows: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields) of each record after the header; a malformed record (an
    unterminated quote, text after a closing quote) is a DataError naming the file and the line."""
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, strict=True)
        start = 1
        try:
            for i, row in enumerate(reader):
                yield start, row
                start = reader.line_num + 1
                if max_rows is not None and i >= max_rows:
                    return
        except csv.Error as exc:
            raise DataError(
                f"{path}, line {start}: {what} is not valid CSV ({exc}): a quoted field is not closed or a quote "
                f"inside it is not doubled. Fix the record that starts on this line."
            ) from None


def _table(path: Path, what: str, header: tuple[str, ...], max_rows: int | None) -> tuple[list[str], list, list]:
    """Header, start lines and records, with every record as wide as the header."""
    rows = records(path, what, max_rows)
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: {what} has no header.")
    names = [c.strip() for c in first[1]]
    missing = [c for c in header if c not in names]
    if missing:
        raise DataError(
            f"{path}: no column {', '.join(missing)} in the header {names[:10]}. Expected {what}: {', '.join(header)}."
        )
    lines, fields = [], []
    for line, row in rows:
        if len(row) != len(names):
            raise DataError(
                f"{path}, line {line}: {len(row)} field(s), the header has {len(names)}. A text field with a comma "
                f"or a newline must be quoted."
            )
        lines.append(line)
        fields.append(row)
    if not fields:
        raise DataError(f"{path}: {what} has a header and no records.")
    return names, lines, fields


def _ints(path: Path, lines: list[int], values: list[str], column: str, allowed: set[int] | None) -> np.ndarray:
    out = np.empty(len(values), np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = int(v.strip())
        except ValueError:
            out[i] = -(10**9)
        if out[i] == -(10**9) or (allowed is not None and out[i] not in allowed):
            want = f"one of {sorted(allowed)}" if allowed is not None else "an integer"
            raise DataError(f"{path}, line {lines[i]}: {column} must be {want}, got {v!r}. Fix or remove the line.")
    return out


def read_jigsaw(path: str, max_rows: int | None = None) -> PostTable:
    """Jigsaw Toxic Comment `train.csv`: six 0/1 labels per comment (multi-label)."""
    file = check_file(path, "Jigsaw train.csv")
    layout = "Jigsaw train.csv"
    names, lines, fields = _table(file, layout, ("comment_text", *JIGSAW_LABELS), max_rows)
    col = {c: [r[names.index(c)] for r in fields] for c in ("comment_text", *JIGSAW_LABELS)}
    labels = {c: _ints(file, lines, col[c], c, {0, 1}).astype(np.int8) for c in JIGSAW_LABELS}
    frame = pl.DataFrame({"text": col["comment_text"], "line": np.asarray(lines, np.int64), **labels})
    info = {"comments": frame.height, "positives": {c: int(v.sum()) for c, v in labels.items()}}
    return PostTable(frame, list(JIGSAW_LABELS), str(file), info=info)


def read_davidson(path: str, max_rows: int | None = None) -> PostTable:
    """Davidson et al.'s `labeled_data.csv`: the coders' majority class as three exclusive 0/1 columns."""
    file = check_file(path, "Davidson labeled_data.csv")
    layout = "Davidson labeled_data.csv"
    names, lines, fields = _table(file, layout, (*DAVIDSON_VOTES, "class", "tweet"), max_rows)
    col = {c: [r[names.index(c)] for r in fields] for c in (*DAVIDSON_VOTES, "class", "tweet")}
    cls = _ints(file, lines, col["class"], "class", {0, 1, 2})
    votes = {c: _ints(file, lines, col[c], c, None) for c in DAVIDSON_VOTES}
    frame = pl.DataFrame(
        {
            "text": col["tweet"],
            "line": np.asarray(lines, np.int64),
            **{c: (cls == i).astype(np.int8) for i, c in enumerate(DAVIDSON_CLASSES)},
        }
    )
    unanimous = votes["count"] == np.maximum.reduce([votes[c] for c in DAVIDSON_CLASSES])
    info = {
        "tweets": frame.height,
        "class_counts": {c: int((cls == i).sum()) for i, c in enumerate(DAVIDSON_CLASSES)},
        "coders_mean": round(float(votes["count"].mean()), 3),
        "unanimous_share": round(float(unanimous.mean()), 4),
    }
    return PostTable(frame, list(DAVIDSON_CLASSES), str(file), exclusive=True, info=info)
