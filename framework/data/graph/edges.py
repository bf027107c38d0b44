"""An undirected edge list, as a dataset source hands it to the link_prediction kind.

Sources (SNAP files, the embedded generator) return an `EdgeList` of raw node ids; `clean` maps the ids to
0..n-1, drops self-loops and duplicate edges (u-v and v-u are one friendship) and counts what it dropped,
so the run can say so. Edge times (a timestamp column, or the snapshot of the embedded generator) drive
the temporal split; node attributes (school, workplace, city, ...) are categorical columns per node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class EdgeList:
    src: np.ndarray  # int64 [E]: node ids as the source names them
    dst: np.ndarray  # int64 [E]
    time: np.ndarray | None = None  # float64 [E]: when the friendship formed (None: no times)
    n_nodes: int | None = None  # nodes 0..n-1 (generators: isolated nodes too); None: the ids seen in edges
    node_features: dict[str, np.ndarray] = field(default_factory=dict)  # name -> int64 [n_nodes], per node
    source: dict[str, Any] = field(default_factory=dict)  # where it came from, for run.json


@dataclass
class CleanGraph:
    """Edges with u < v, no self-loops, no duplicates; ids 0..n_nodes-1 (`node_ids[i]` is i's raw id)."""

    src: np.ndarray  # int64 [E]
    dst: np.ndarray  # int64 [E]
    time: np.ndarray | None
    n_nodes: int
    node_ids: np.ndarray  # int64 [n_nodes]: raw id of each node
    node_features: dict[str, np.ndarray]
    dropped: dict[str, int]  # self_loops, duplicate_edges


def clean(edges: EdgeList) -> CleanGraph:
    """Map ids to 0..n-1 and keep one undirected edge per pair (the earliest, when edges have times)."""
    src, dst = np.asarray(edges.src, np.int64), np.asarray(edges.dst, np.int64)
    loops = src == dst
    if edges.n_nodes is not None:
        node_ids = np.arange(edges.n_nodes, dtype=np.int64)
        u, v = src, dst
    else:
        node_ids, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
        u, v = inverse[: len(src)], inverse[len(src) :]
    keep = ~loops
    lo, hi = np.minimum(u, v)[keep], np.maximum(u, v)[keep]
    time = None if edges.time is None else np.asarray(edges.time, np.float64)[keep]
    order = np.lexsort((time, hi, lo)) if time is not None else np.lexsort((hi, lo))
    lo, hi = lo[order], hi[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return CleanGraph(
        src=lo[first],
        dst=hi[first],
        time=None if time is None else time[order][first],
        n_nodes=len(node_ids),
        node_ids=node_ids,
        node_features=dict(edges.node_features),
        dropped={"self_loops": int(loops.sum()), "duplicate_edges": int((~first).sum())},
    )


def adjacency(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> Any:
    """The symmetric 0/1 adjacency matrix (scipy CSR, float64) of undirected edges u < v."""
    import scipy.sparse as sp

    rows, cols = np.concatenate([src, dst]), np.concatenate([dst, src])
    a = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_nodes, n_nodes))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


def pair_keys(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> np.ndarray:
    """One int64 per unordered pair (min * n + max): set operations on edges."""
    lo, hi = np.minimum(src, dst).astype(np.int64), np.maximum(src, dst).astype(np.int64)
    return lo * n_nodes + hi
