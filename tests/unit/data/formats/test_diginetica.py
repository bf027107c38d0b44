"""Diginetica item views: the header's spellings, times, and malformed files named by line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framework.data.formats.diginetica import read_diginetica
from framework.data.sessions.table import clean
from framework.errors import DataError
from tests.conftest import shared_file

HEADER = "sessionId;userId;itemId;timeframe;eventdate\n"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "train-item-views.csv"
    path.write_text(text)
    return str(path)


def test_reads_sessions_items_and_times(tmp_path: Path) -> None:
    table = read_diginetica(write(tmp_path, HEADER + "1;NA;81766;526309;2016-05-09\n1;NA;31331;1031018;2016-05-09\n"))
    assert table.session.tolist() == [1, 1] and table.item.tolist() == [81766, 31331]
    days = 16930.0  # 2016-05-09 in days since 1970-01-01
    assert np.allclose(table.time, [days + 526309 / 86_400_000, days + 1031018 / 86_400_000])


def test_snake_case_header(tmp_path: Path) -> None:
    text = "session_id;user_id;item_id;timeframe;eventdate\n7;1;5;0;2016-01-01\n"
    assert read_diginetica(write(tmp_path, text)).item.tolist() == [5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sessionId;userId;timeframe;eventdate\n1;NA;0;2016-01-01\n", "no column itemId or item_id"),
        (HEADER + "1;NA;5;0;2016-01-01\nx;NA;5;0;2016-01-01\n", "line 3: sessionId must be a number, got 'x'"),
        (HEADER + "1;NA;5;0;2016-13-01\n", "line 2: eventdate must be a date"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_diginetica(write(tmp_path, text))


def test_the_sample_under_the_session_protocol() -> None:
    table = read_diginetica(str(shared_file("diginetica-sample/sample_train-item-views.csv")))
    assert len(table.session) == 12391
    sessions = clean(table, min_item_count=5)
    counts = np.bincount(sessions.item)
    lengths = np.bincount(sessions.session)
    assert counts.min() >= 5 and lengths.min() >= 2  # both rules hold at once after the repeated passes
    assert sessions.dropped["sessions"] > 0 and sessions.dropped["items"] > 0
