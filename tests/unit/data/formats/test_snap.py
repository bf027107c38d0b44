"""SNAP edge lists: spaces or tabs, '#' comments, an optional time column; malformed lines name file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framework.data.formats.snap import read_snap_edges
from framework.data.graph.edges import clean
from framework.errors import DataError
from tests.conftest import shared_file


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "edges.txt"
    path.write_text(text)
    return str(path)


def test_space_and_tab_separated_lines_with_comments(tmp_path: Path) -> None:
    edges = read_snap_edges(write(tmp_path, "# Directed graph\n# FromNodeId\tToNodeId\n0 1\n1\t2\n\n2   0\n"))
    assert edges.src.tolist() == [0, 1, 2] and edges.dst.tolist() == [1, 2, 0]
    assert edges.time is None and edges.source["lines"] == 3


def test_a_third_column_is_the_edge_time(tmp_path: Path) -> None:
    edges = read_snap_edges(write(tmp_path, "1 2 1082040961\n1 3 1082155839\n"))
    assert edges.time.tolist() == [1082040961.0, 1082155839.0]
    assert read_snap_edges(write(tmp_path, "1 2 5\n"), use_time=False).time is None


def test_max_rows_counts_edges_not_comments(tmp_path: Path) -> None:
    edges = read_snap_edges(write(tmp_path, "# c\n0 1\n# c\n1 2\n2 3\n"), max_rows=2)
    assert edges.src.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 1\n7\n", "line 2: expected 'node node'"),
        ("0 1\n1 x\n", "line 2: node ids must be integers"),
        ("0 1 10\n1 2 soon\n", "line 2: the third column"),
        ("# only a comment\n", "no edges"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_snap_edges(write(tmp_path, text))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="SNAP edge list file not found"):
        read_snap_edges(str(tmp_path / "absent.txt"))


def test_self_loops_and_duplicates_are_dropped_and_counted(tmp_path: Path) -> None:
    graph = clean(read_snap_edges(write(tmp_path, "10 20\n20 10\n10 10\n20 30\n10 20\n")))
    assert graph.dropped == {"self_loops": 1, "duplicate_edges": 2}
    assert graph.node_ids.tolist() == [10, 20, 30]  # raw ids mapped to 0..n-1
    assert list(zip(graph.src.tolist(), graph.dst.tolist(), strict=True)) == [(0, 1), (1, 2)]


def test_the_facebook_ego_network() -> None:
    edges = read_snap_edges(str(shared_file("snap-ego-facebook/facebook_combined.txt")))
    graph = clean(edges)
    assert len(edges.src) == 88234 and graph.n_nodes == 4039
    assert graph.dropped == {"self_loops": 0, "duplicate_edges": 0}
    assert np.all(graph.src < graph.dst)
