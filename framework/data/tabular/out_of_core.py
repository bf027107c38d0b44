"""Read and encode a delimited click log larger than memory: chunks in, memory-mapped `.npy` arrays out.

    pass 0  count the rows (newlines; `max_rows` honoured)      -> the train/valid/test split by row order
    pass 1  parse the chunks that hold the train rows           -> TrainStatistics (value counts, moments)
            -> the encoder is fit from them (the same code as the in-memory fit: same ids, same OOV and
               missing ids, ties broken by value, same hash buckets; moments equal to rounding)
    pass 2  parse every chunk, encode it, write its rows into   {train,valid,test}_{categorical,numeric,label}.npy
            (the last chunk of pass 1 is kept parsed and encoded first)

Peak memory does not grow with the rows: it is set by chunk_rows, ~1.3 KB per chunk row of Criteo's 40
fields for the chunk worked on and the next one read ahead (bytes, parsed strings, encoded rows;
measured with 1M-row chunks: 1.9-2.0 GB from 5M to 20M rows, 0.43 GB of it the imports), plus pass 1's
value counts: 18 bytes per distinct train value and field (measured up to 52M values; full Criteo:
~34M values, ~0.6 GB). BENCHMARKS.md has the figures. The arrays are written with plain file writes at
their row offsets, never held or mapped while written. Training memory-maps them
(`framework.data.cache.load(mmap=True)`): a batch reads only its rows, and DDP ranks share the pages
through the page cache. Cost: the train rows are parsed twice (pass 1 and
pass 2), except the chunk pass 1 ends on; a file of one chunk is parsed once.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from framework.data.tabular.delimited import DelimitedFormat
from framework.data.tabular.features import ENCODER_FILE, EncodedTable, FeatureSpec, TabularEncoder, check_finite
from framework.data.tabular.lines import LineIndex
from framework.data.tabular.table import RawTable
from framework.errors import DataError

SPLITS = ("train", "valid", "test")
PARTS = ("categorical", "numeric", "label")
T = TypeVar("T")


class NpyRows:
    """A `.npy` file of known shape whose rows are written in blocks at their offsets (nothing kept in memory)."""

    def __init__(self, path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        self.dtype = np.dtype(dtype)
        self.file = path.open("wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self.file, header)
        self.offset = self.file.tell()
        self.row_bytes = self.dtype.itemsize * math.prod(shape[1:])
        self.file.truncate(self.offset + shape[0] * self.row_bytes)  # the full size now; blocks fill it in

    def write(self, row: int, rows: np.ndarray) -> None:
        self.file.seek(self.offset + row * self.row_bytes)
        self.file.write(np.ascontiguousarray(rows, dtype=self.dtype).data)

    def close(self) -> None:
        self.file.close()


class SplitWriter:
    """Writes encoded chunks into the three splits' arrays; chunks may come in any order."""

    def __init__(self, folder: Path, sizes: tuple[int, int, int], spec: FeatureSpec) -> None:
        self.bounds = np.cumsum((0, *sizes))
        widths = {"categorical": len(spec.categorical), "numeric": spec.n_numeric}
        dtypes = {"categorical": np.int32, "numeric": np.float32, "label": np.float32}
        self.files = {
            (split, part): NpyRows(
                folder / f"{split}_{part}.npy",
                dtypes[part],
                (n, widths[part]) if part in widths else (n,),
            )
            for split, n in zip(SPLITS, sizes, strict=True)
            for part in PARTS
        }
        self.clicks = dict.fromkeys(SPLITS, 0.0)
        self.rows_written = 0

    def write(self, start: int, encoded: EncodedTable) -> None:
        stop = start + len(encoded)
        self.rows_written += len(encoded)
        for i, split in enumerate(SPLITS):
            lo, hi = max(start, int(self.bounds[i])), min(stop, int(self.bounds[i + 1]))
            if lo >= hi:
                continue
            part = encoded.slice(lo - start, hi - start)
            for name in PARTS:
                self.files[split, name].write(lo - int(self.bounds[i]), getattr(part, name))
            self.clicks[split] += float(part.label.sum(dtype=np.float64))

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def encode_file(
    fmt: DelimitedFormat,
    path: str,
    index: LineIndex,
    sizes: tuple[int, int, int],
    encoder: TabularEncoder,
    folder: Path,
) -> dict[str, Any]:
    """Encode the rows of `index` (`fmt.index`), split in row order into `sizes`, into `folder`; returns the
    entry's meta: the FeatureSpec, rows and click rate per split, and seconds per stage."""
    n_rows = sum(sizes)
    seconds = dict.fromkeys(("parse", "fit", "transform", "write"), 0.0)
    held = [_fit(fmt, path, index, sizes, encoder, seconds)]  # the last chunk of pass 1, parsed
    t0 = time.perf_counter()
    spec = encoder.spec(held[0][1])
    # serving's copy of the encoder (any chunk gives the columns and their dtypes): beside the arrays
    (folder / ENCODER_FILE).write_text(json.dumps(encoder.state(held[0][1])))
    writer = SplitWriter(folder, sizes, spec)
    seconds["fit"] += time.perf_counter() - t0
    try:
        skip = {held[0][0]}
        _encode_into(writer, encoder, held.pop(), seconds)  # popped: freed before the next chunk is parsed
        chunks = fmt.chunks(path, index, skip=skip)
        with contextlib.closing(chunks):
            for start, table in _timed(chunks, seconds):  # pass 2: every other chunk
                if table is not None:
                    _check_height(table, start, index.block_lines, n_rows)
                    _encode_into(writer, encoder, (start, table), seconds)
                del table
    finally:
        writer.close()
    if writer.rows_written != n_rows:
        raise DataError(f"{path}: {n_rows} rows were counted, {writer.rows_written} read: the file changed while read.")
    rows = dict(zip(SPLITS, sizes, strict=True))
    return {
        "spec": spec.to_dict(),
        "rows": rows,
        "ctr": {s: writer.clicks[s] / rows[s] if rows[s] else None for s in SPLITS},
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "chunks": len(index.ends) - index.header_lines,
    }


def _fit(
    fmt: DelimitedFormat,
    path: str,
    index: LineIndex,
    sizes: tuple[int, int, int],
    encoder: TabularEncoder,
    seconds: dict[str, float],
) -> tuple[int, RawTable]:
    """Pass 1: fit `encoder` on the train rows, chunk by chunk; returns the last chunk read (first row, table)."""
    n_train, chunk_rows = sizes[0], index.block_lines
    statistics, held = None, None
    chunks = fmt.chunks(path, index)
    with contextlib.closing(chunks):
        for start, table in _timed(chunks, seconds):
            assert table is not None
            _check_height(table, start, chunk_rows, sum(sizes))
            t0 = time.perf_counter()
            check_finite(table)
            statistics = statistics or encoder.statistics(table)
            statistics.update(table.frame.slice(0, n_train - start))
            seconds["fit"] += time.perf_counter() - t0
            if start + chunk_rows >= n_train:
                held = (start, table)
                break
            del table  # before the next chunk is parsed: one parsed chunk at a time
    assert statistics is not None and held is not None
    t0 = time.perf_counter()
    encoder.fit_statistics(statistics, held[1])
    seconds["fit"] += time.perf_counter() - t0
    return held


def _encode_into(
    writer: SplitWriter, encoder: TabularEncoder, chunk: tuple[int, RawTable], seconds: dict[str, float]
) -> None:
    start, table = chunk
    t0 = time.perf_counter()
    encoded = encoder.transform(table)
    t1 = time.perf_counter()
    writer.write(start, encoded)
    seconds["transform"] += t1 - t0
    seconds["write"] += time.perf_counter() - t1


def _check_height(table: RawTable, start: int, chunk_rows: int, n_rows: int) -> None:
    expected = min(chunk_rows, n_rows - start)
    if table.frame.height != expected:
        raise DataError(
            f"{table.source}: expected {expected} rows from data row {start + 1}, read {table.frame.height}: "
            f"the file changed while it was read."
        )


def _timed(items: Iterator[T], seconds: dict[str, float]) -> Iterator[T]:
    """`items`, adding the time each takes to produce to seconds['parse'] (reading + parsing a chunk)."""
    while True:
        t0 = time.perf_counter()
        try:
            item = [next(items)]  # emptied by the yield: no reference kept while the next one is made
        except StopIteration:
            return
        finally:
            seconds["parse"] += time.perf_counter() - t0
        yield item.pop()
