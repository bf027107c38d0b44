"""A text file (plain or gzip'd) as blocks of whole lines, in bounded memory.

`index_lines` finds, in one pass of 16 MiB reads, how many lines `read_head` would keep (the first
`max_lines`, trailing blank lines cut) and the byte offset where every block of `block_lines` lines ends;
`line_blocks` then reads the blocks one read each (no joining of pieces), the next one in a background
thread while the caller parses the current one (file reads and gzip release the GIL).
Memory: the offsets (8 bytes per block) and about two blocks of bytes.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from framework.errors import DataError

READ_BYTES = 1 << 24  # one read of the indexing pass: 16 MiB


@dataclass(frozen=True)
class LineIndex:
    """The lines of a file that count, and where each block of them ends (byte offsets, uncompressed)."""

    n_lines: int
    ends: tuple[int, ...]  # after each block's last newline; the last block's: after its last line
    block_lines: int
    header_lines: int = 0  # a first block of this many lines (a header), when not 0


def open_bytes(path: Path) -> BinaryIO:
    """The file for reading bytes, gunzipped on the fly when it starts with gzip's magic number."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


def _reads(path: Path) -> Iterator[bytes]:
    try:
        with open_bytes(path) as f:
            while chunk := f.read(READ_BYTES):
                yield chunk
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc


def index_lines(path: Path, block_lines: int, max_lines: int | None = None, header_lines: int = 0) -> LineIndex:
    """Count the lines among the first `max_lines` (all: None) that are not trailing blank lines, as
    `read_head` keeps them, and where blocks end: after `header_lines` lines, then every `block_lines`."""
    base = lines = 0  # bytes and newlines before this read
    last = -1  # lines before the last byte that is not \r or \n (-1: none yet)
    last_end = None  # offset just after the newline that ends that line (None: not seen yet)
    cuts: list[int] = []  # offset after line k, for every k that ends a block
    next_cut = header_lines or block_lines
    for chunk in _reads(path):
        newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
        if max_lines is not None and lines + len(newlines) >= max_lines:  # the last line wanted ends here
            newlines = newlines[: max_lines - lines]
            chunk = chunk[: int(newlines[-1]) + 1]
        while next_cut <= lines + len(newlines):
            cuts.append(base + int(newlines[next_cut - lines - 1]) + 1)
            next_cut += block_lines
        end = len(chunk)
        while end and chunk[end - 1] in b"\r\n":  # usually one byte: no copy of the chunk
            end -= 1
        if end:
            last = lines + int(np.searchsorted(newlines, end))
            last_end = None
        if last_end is None and last >= 0 and last < lines + len(newlines):
            last_end = base + int(newlines[last - lines]) + 1
        base, lines = base + len(chunk), lines + len(newlines)
        if max_lines is not None and lines >= max_lines:
            break
    n_lines = last + 1
    n_cuts = sum(1 for k in range(len(cuts)) if _cut_line(k, header_lines, block_lines) < n_lines)
    ends = (*cuts[:n_cuts], last_end if last_end is not None else base) if n_lines else ()
    return LineIndex(n_lines, ends, block_lines, header_lines)


def _cut_line(k: int, header_lines: int, block_lines: int) -> int:
    """The line (1-based) the k-th cut follows."""
    return header_lines + k * block_lines if header_lines else (k + 1) * block_lines


def line_blocks(path: Path, index: LineIndex) -> Iterator[bytes]:
    """The blocks of `index`, each ending in a newline (the file's last line gets one, and loses a trailing
    \\r, when the file ends without one, as `read_head` gives it)."""
    sizes = [int(s) for s in np.diff((0, *index.ends))]
    if not sizes:
        return
    try:
        f = open_bytes(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc
    pool = ThreadPoolExecutor(1)
    try:
        ahead = pool.submit(f.read, sizes[0])
        for i, size in enumerate(sizes):
            block = [ahead.result()]  # a list, emptied by the yield: this frame keeps no reference to the block
            ahead = pool.submit(f.read, sizes[i + 1]) if i + 1 < len(sizes) else None  # read while this is parsed
            if len(block[0]) != size:
                raise DataError(f"{path}: the file is shorter than when it was indexed (it changed while read).")
            if not block[0].endswith(b"\n"):
                block[0] = block[0].rstrip(b"\r\n") + b"\n"
            yield block.pop()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # no read in flight when the file closes
        f.close()
