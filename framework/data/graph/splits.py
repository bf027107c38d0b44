"""Split a cleaned graph into the graph the models see and the friendships held out for validation and test.

- `random`: a seeded hold-out of `split` = [graph, valid, test] shares of the edges (e.g. 0.85/0.05/0.10);
  the held-out edges are removed from the graph (as PyG's RandomLinkSplit and OGB's collab protocol).
- `temporal`: edges in time order; the earliest `split[0]` form the graph, the next `split[1]` are
  validation, the latest are test: predict the friendships that form after the snapshot. Needs times.

Each held-out split also gets one shared set of sampled non-edges (pairs that are not friends in the whole
file, self-pairs excluded): the negatives of ROC-AUC, average precision and OGB's Hits@K.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from framework.data.graph.edges import CleanGraph, pair_keys
from framework.errors import DataError


@dataclass
class Pairs:
    src: np.ndarray  # int64 [P]
    dst: np.ndarray  # int64 [P]

    def __len__(self) -> int:
        return len(self.src)


@dataclass
class GraphSplit:
    n_nodes: int
    graph: Pairs  # the edges the models see (message passing, heuristics, candidate generation)
    held_out: dict[str, Pairs]  # valid, test: the friendships to predict
    negatives: dict[str, Pairs]  # valid, test: shared sampled non-edges
    info: dict[str, Any]
    graph_time: np.ndarray | None = None  # float64 [E]: when each graph edge formed (None: no times)


def _sample_non_edges(n: int, count: int, forbidden: np.ndarray, rng: np.random.Generator) -> Pairs:
    """`count` distinct pairs u != v that are not in `forbidden` (sorted pair keys)."""
    possible = n * (n - 1) // 2 - len(forbidden)
    count = min(count, possible)
    found = np.empty(0, dtype=np.int64)
    while len(found) < count:
        u = rng.integers(n, size=2 * (count - len(found)) + 64)
        v = rng.integers(n, size=len(u))
        keys = pair_keys(u, v, n)[u != v]
        keys = keys[~np.isin(keys, forbidden) & ~np.isin(keys, found)]
        _, first = np.unique(keys, return_index=True)
        found = np.concatenate([found, keys[np.sort(first)]])[:count]
    src, dst = np.divmod(found, n)
    return Pairs(src, dst)


def split_graph(graph: CleanGraph, strategy: str, fractions: list[float], eval_negatives: int, seed: int) -> GraphSplit:
    n_edges = len(graph.src)
    if strategy == "temporal":
        if graph.time is None:
            raise DataError(
                "dataset.split_strategy=temporal needs edge times (a third column in a SNAP file), and this "
                "edge list has none. Use dataset.split_strategy=random."
            )
        order = np.argsort(graph.time, kind="stable")
    else:
        order = np.random.default_rng(seed).permutation(n_edges)
    n_graph = round(n_edges * fractions[0])
    n_valid = round(n_edges * fractions[1])
    parts = {"graph": order[:n_graph], "valid": order[n_graph : n_graph + n_valid], "test": order[n_graph + n_valid :]}
    empty = [name for name, idx in parts.items() if len(idx) == 0]
    if empty:
        raise DataError(
            f"The {strategy} split {fractions} of {n_edges} edges leaves no edges in {' and '.join(empty)}. "
            f"Use a larger graph (dataset.max_rows) or other dataset.split shares."
        )
    pairs = {name: Pairs(graph.src[idx], graph.dst[idx]) for name, idx in parts.items()}
    forbidden = np.sort(pair_keys(graph.src, graph.dst, graph.n_nodes))
    rng = np.random.default_rng([seed, 1])
    negatives = {
        s: _sample_non_edges(graph.n_nodes, max(eval_negatives, len(pairs[s])), forbidden, rng)
        for s in ("valid", "test")
    }
    degree = np.bincount(np.concatenate([pairs["graph"].src, pairs["graph"].dst]), minlength=graph.n_nodes)
    unseen = {s: int(((degree[pairs[s].src] == 0) | (degree[pairs[s].dst] == 0)).sum()) for s in ("valid", "test")}
    info = {
        "split_strategy": strategy,
        "nodes": graph.n_nodes,
        "edges": {name: len(p) for name, p in pairs.items()},
        "negatives": {s: len(p) for s, p in negatives.items()},
        "held_out_touching_isolated_nodes": unseen,  # a node with no friend in the graph: only features help
        "isolated_nodes_in_graph": int((degree == 0).sum()),
    }
    graph_time = None if graph.time is None else graph.time[parts["graph"]]
    held_out = {s: pairs[s] for s in ("valid", "test")}
    return GraphSplit(graph.n_nodes, pairs["graph"], held_out, negatives, info, graph_time)
