"""Batch prediction: score a whole file offline (precomputed scores), a chunk of rows at a time.

    mlsd predict run_dir=outputs/... input=impressions.parquet output=scores.csv backend=onnx keep=[id]

The input is CSV (.csv), tab-separated (.tsv, .txt) with a header row, or Parquet (.parquet); it needs the
columns the model was trained on (extra columns are ignored, or copied to the output with `keep`). polars
streams it in chunks of `chunk_rows` (bounded memory), each chunk is checked and encoded exactly as a
request is (`framework.serving.encode`) and scored by the backend. The output (same formats) holds the kept
columns and `score`, the calibrated click probability, in input order; it is written to a temporary file
and renamed into place, so a failed run leaves no partial output.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from framework.errors import DataError
from framework.serving.encode import RowEncoder

SCORE = "score"
CHUNK_ROWS = 100_000
_DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
_FORMATS = ", ".join([*_DELIMITED, ".parquet"])


def scan(path: Path, encoder: RowEncoder) -> pl.LazyFrame:
    """A lazy reader of `path`; the model's columns of a delimited file are read as text, so the encoder's
    checks (not the CSV parser) report a bad value, and hex ids such as '00ab' keep their leading zeros."""
    suffix = path.suffix.lower()
    if suffix in _DELIMITED:
        text = dict.fromkeys(encoder.columns, pl.String)
        return pl.scan_csv(path, separator=_DELIMITED[suffix], schema_overrides=text, infer_schema_length=1000)
    if suffix == ".parquet":
        return pl.scan_parquet(path)
    raise DataError(f"{path}: unknown input format '{suffix}'; use one of {_FORMATS}.")


def predict_file(
    scorer: Any,
    encoder: RowEncoder,
    input_path: str | Path,
    output_path: str | Path,
    keep: list[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Score every row of `input_path` into `output_path`; returns rows, seconds per stage and rows/s."""
    input_path, output_path = Path(input_path).expanduser(), Path(output_path).expanduser()
    keep = list(keep or [])
    if not input_path.is_file():
        raise DataError(f"input file not found: {input_path}")
    out_suffix = output_path.suffix.lower()
    if out_suffix not in (*_DELIMITED, ".parquet"):
        raise DataError(f"{output_path}: unknown output format '{out_suffix}'; use one of {_FORMATS}.")
    if SCORE in keep:
        raise DataError(f"keep: '{SCORE}' is the output's score column; rename the input column.")
    frame = scan(input_path, encoder)
    try:
        names = frame.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{input_path}: cannot be read ({str(exc).splitlines()[0]}).") from exc
    for column in [*encoder.columns, *keep]:
        if column not in names:
            what = "a column the model needs" if column in encoder.columns else "a column of keep"
            raise DataError(
                f"{input_path}: column {column} is missing ({what}). The file's columns: {', '.join(names)}."
            )

    seconds = dict.fromkeys(("read", "encode", "score", "write"), 0.0)
    parts: list[pl.DataFrame] = []
    rows = 0
    start = time.perf_counter()
    tmp = output_path.parent / f".{output_path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("wb") as sink:
            t0 = time.perf_counter()
            for chunk in _chunks(frame.select(list(dict.fromkeys([*encoder.columns, *keep]))), chunk_rows, input_path):
                t1 = time.perf_counter()
                seconds["read"] += t1 - t0
                encoded = encoder.encode(chunk, source=str(input_path), row_offset=rows)
                t2 = time.perf_counter()
                scores = scorer.score(encoded)
                t3 = time.perf_counter()
                part = pl.DataFrame([*chunk.select(keep).get_columns(), pl.Series(SCORE, scores, dtype=pl.Float32)])
                if out_suffix in _DELIMITED:  # written as it comes; Parquet is written once, below
                    part.write_csv(sink, separator=_DELIMITED[out_suffix], include_header=rows == 0)
                else:
                    parts.append(part)
                rows += chunk.height
                t0 = time.perf_counter()
                seconds["encode"] += t2 - t1
                seconds["score"] += t3 - t2
                seconds["write"] += t0 - t3
            if out_suffix == ".parquet":
                t3 = time.perf_counter()
                empty = pl.DataFrame(schema={**{k: frame.collect_schema()[k] for k in keep}, SCORE: pl.Float32})
                pl.concat(parts or [empty]).write_parquet(sink)
                seconds["write"] += time.perf_counter() - t3
            elif rows == 0:
                pl.DataFrame(schema={**dict.fromkeys(keep, pl.String), SCORE: pl.Float32}).write_csv(
                    sink, separator=_DELIMITED[out_suffix]
                )
        os.replace(tmp, output_path)
    finally:
        tmp.unlink(missing_ok=True)
    total = time.perf_counter() - start
    return {
        "rows": rows,
        "seconds": round(total, 3),
        "rows_per_s": round(rows / total, 1) if total > 0 else None,
        "stage_seconds": {k: round(v, 3) for k, v in seconds.items()},
        "backend": getattr(scorer, "backend", None),
        "chunk_rows": chunk_rows,
        "input": str(input_path),
        "output": str(output_path),
    }


def _chunks(frame: pl.LazyFrame, chunk_rows: int, path: Path) -> Iterator[pl.DataFrame]:
    """`frame`'s rows in chunks; a malformed line the lazy reader meets mid-file is a DataError."""
    batches = iter(frame.collect_batches(chunk_size=chunk_rows))
    while True:
        try:
            chunk = next(batches)
        except StopIteration:
            return
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"{path}: cannot be read ({str(exc).splitlines()[0]}).") from exc
        yield chunk


def score_frame(scorer: Any, encoder: RowEncoder, frame: pl.DataFrame, source: str = "request") -> np.ndarray:
    """Scores of an in-memory frame's rows (a request, a test): encode + score."""
    return scorer.score(encoder.encode(frame, source=source))
