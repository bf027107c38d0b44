"""Blocks of lines read out of core give exactly the bytes `read_head` reads in one piece."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from framework.data.tabular import lines
from framework.data.tabular.lines import index_lines, line_blocks
from framework.data.tabular.table import read_head

CONTENTS = {
    "plain": b"a\nbb\nccc\nd\ne\nf\ng\n",
    "no-final-newline": b"a\nbb\nccc\nd\ne",
    "no-final-newline-cr": b"a\nbb\nccc\r",
    "trailing-blank-lines": b"a\nbb\nccc\n\n\r\n\n",
    "crlf": b"a\r\nbb\r\nccc\r\nd\r\n",
    "blank-line-inside": b"a\n\nccc\nd\n",
    "blank-only": b"\n\n\r\n",
    "one-line": b"abc",
}


@pytest.mark.parametrize("name", list(CONTENTS))
@pytest.mark.parametrize("block_lines", [1, 2, 3, 100])
@pytest.mark.parametrize("max_lines", [None, 1, 2, 5])
@pytest.mark.parametrize("header_lines", [0, 1])
def test_blocks_join_to_read_head(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    block_lines: int,
    max_lines: int | None,
    header_lines: int,
) -> None:
    monkeypatch.setattr(lines, "READ_BYTES", 3)  # reads end mid-line and mid-"\r\n"
    path = tmp_path / "f.txt"
    path.write_bytes(CONTENTS[name])
    expected = read_head(path, max_lines)
    index = index_lines(path, block_lines, max_lines, header_lines)
    blocks = list(line_blocks(path, index))
    assert index.n_lines == expected.count(b"\n")
    assert b"".join(blocks).replace(b"\r\n", b"\n") == expected.replace(b"\r\n", b"\n")
    sizes = [b.count(b"\n") for b in blocks]
    if header_lines and index.n_lines:
        assert sizes[0] == 1
        sizes = sizes[1:]
    assert all(s == block_lines for s in sizes[:-1]) and all(0 < s <= block_lines for s in sizes)


def test_gzip_files_are_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "f.txt.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"".join(f"line {i}\n".encode() for i in range(1000)))
    index = index_lines(path, 300)
    assert index.n_lines == 1000 and len(index.ends) == 4
    assert b"".join(line_blocks(path, index)) == read_head(path, None)
