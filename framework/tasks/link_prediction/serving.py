"""Per-request latency of "people you may know": one user in, their top k out.

A request generates the user's candidates from the graph (friends of friends: one sparse row product;
or every non-friend), scores them (a heuristic from the adjacency; the GNN from node vectors computed
offline plus the pair's structural features) and keeps the top k. One request at a time, on CPU, as
`framework.serving.latency` measures every case, against the case's budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from framework.data.graph.splits import Pairs
from framework.data.graph.structure import GraphStructure
from framework.serving.latency import measure_latency


def recommend(scorer: Any, structure: GraphStructure, user: int, strategy: str, k: int) -> np.ndarray:
    """The user's top k candidates, best first."""
    if strategy == "friends_of_friends":
        candidates = structure.friends_of_friends(np.array([user])).indices
    else:
        excluded = np.zeros(structure.n_nodes, dtype=bool)
        excluded[structure.neighbours(user)] = True
        excluded[user] = True
        candidates = np.flatnonzero(~excluded)
    if len(candidates) == 0:
        return candidates
    scores = scorer.pairs(torch.full((len(candidates),), user, dtype=torch.long), torch.from_numpy(candidates))
    top = torch.topk(scores, min(k, len(candidates))).indices.numpy()
    return candidates[top]


def user_latency(
    scorer: Any, structure: GraphStructure, held_out: Pairs, strategy: str, case: DictConfig, seed: int
) -> dict[str, Any]:
    """p50/p99 of one user's request, over users with a held-out friendship, against the budget."""
    users = np.unique(np.concatenate([held_out.src, held_out.dst]))
    order = np.random.default_rng(seed).permutation(users)
    k = int(case.serving.list_size)

    def request(i: int) -> None:
        with torch.inference_mode():
            recommend(scorer, structure, int(order[i % len(order)]), strategy, k)

    stats = measure_latency(request, int(case.serving.latency_requests))
    budget = float(case.design.latency_budget_ms)
    return {
        **stats,
        "budget_ms": budget,
        "within_budget": stats["p99_ms"] <= budget,
        "request": f"one user's top {k} of their {strategy.replace('_', ' ')} candidates",
    }
