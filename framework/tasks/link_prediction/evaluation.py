"""Scoring a link-prediction model on a held-out split with an eval suite.

Two views of the same scores:
- pairs: the held-out friendships against the split's shared sampled non-edges (metrics that declare
  `reads = "pairs"`: ROC-AUC, AP, OGB's Hits@K);
- lists: for every user with a held-out friendship, the top k of the user's candidates (what the
  "people you may know" module shows), scored by the top-k metrics (Recall@k, MAP@k, ...). Candidates
  are friends of friends or every node, minus the user, the user's friends in the graph and, at test
  time, the friendships already revealed by the validation split. A friend outside the candidate set
  counts as missed: that is the recall candidate generation costs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from framework.data.graph.edges import adjacency
from framework.data.graph.splits import Pairs
from framework.data.graph.structure import GraphStructure
from framework.metrics.pairs import ScoredPairs
from framework.metrics.suite import compute_once
from framework.metrics.topk import RankedLists
from framework.models.graph.heuristics import pair_scores

USER_BLOCK = 256  # users scored at once: a [block, n] score matrix


def list_depth(metrics: dict[str, Metric]) -> int:
    """The longest list any top-k metric of the suite reads (at least 10)."""
    return max([int(getattr(m, "k", 0)) for m in metrics.values() if getattr(m, "reads", "lists") == "lists"] + [10])


def candidate_mask(structure: GraphStructure, users: np.ndarray, strategy: str, known: Any | None) -> np.ndarray:
    """bool [len(users), n]: the pairs a user's list may hold."""
    n = structure.n_nodes
    if strategy == "friends_of_friends":
        mask = structure.friends_of_friends(users).toarray() > 0
    else:
        mask = np.ones((len(users), n), dtype=bool)
        mask[np.arange(len(users)), users] = False
        mask &= ~(structure.adj[users].toarray() > 0)
    if known is not None:
        mask &= ~(known[users].toarray() > 0)
    return mask


def ranked_lists(
    scorer: Any, structure: GraphStructure, held_out: Pairs, strategy: str, depth: int, known: Pairs | None = None
) -> RankedLists:
    """The top `depth` candidates of every user with a held-out friendship, best first (-1: no candidate)."""
    n = structure.n_nodes
    targets = adjacency(held_out.src, held_out.dst, n)
    known_adj = adjacency(known.src, known.dst, n) if known is not None and len(known) else None
    users = np.flatnonzero(np.diff(targets.indptr))
    items, hits = [], []
    for start in range(0, len(users), USER_BLOCK):
        block = users[start : start + USER_BLOCK]
        scores = scorer.users(torch.from_numpy(block)).double()
        mask = torch.from_numpy(candidate_mask(structure, block, strategy, known_adj))
        scores = scores.masked_fill(~mask, float("-inf"))
        top_scores, top = torch.topk(scores, min(depth, n), dim=1)
        top = top.masked_fill(torch.isinf(top_scores), -1)
        relevant = torch.from_numpy(targets[block].toarray() > 0)
        hit = relevant.gather(1, top.clamp_min(0)) & (top >= 0)
        items.append(top)
        hits.append(hit)
    n_relevant = torch.from_numpy(np.diff(targets.indptr)[users].astype(np.int64))
    return RankedLists(items=torch.cat(items), hits=torch.cat(hits), n_relevant=n_relevant, catalog_size=n)


def scored_pairs(scorer: Any, held_out: Pairs, negatives: Pairs) -> ScoredPairs:
    return ScoredPairs(
        positive=scorer.pairs(torch.from_numpy(held_out.src), torch.from_numpy(held_out.dst)),
        negative=scorer.pairs(torch.from_numpy(negatives.src), torch.from_numpy(negatives.dst)),
    )


def evaluate(
    metrics: dict[str, Metric],
    scorer: Any,
    structure: GraphStructure,
    held_out: Pairs,
    negatives: Pairs,
    strategy: str,
    known: Pairs | None = None,
) -> dict[str, float]:
    """name -> value of every metric of the suite on one held-out split."""
    pairs = scored_pairs(scorer, held_out, negatives)
    needs_lists = any(getattr(m, "reads", "lists") == "lists" for m in metrics.values())
    lists = ranked_lists(scorer, structure, held_out, strategy, list_depth(metrics), known) if needs_lists else None
    return compute_once(metrics, None, select=lambda m: pairs if getattr(m, "reads", "lists") == "pairs" else lists)


def candidate_statistics(structure: GraphStructure, held_out: Pairs, known: Pairs | None = None) -> dict[str, float]:
    """What friends-of-friends candidate generation keeps and saves on one split: the share of held-out
    friendships that are 2 hops apart in the graph (the most recall a FoF list can have), and the mean
    candidates per user of FoF and of every non-friend."""
    n = structure.n_nodes
    reachable = pair_scores(structure, "common_neighbours", held_out.src, held_out.dst) > 0
    users = np.unique(np.concatenate([held_out.src, held_out.dst]))
    fof = structure.friends_of_friends(users)
    per_user_fof = np.diff(fof.indptr).astype(np.float64)
    per_user_all = n - 1 - structure.degree[users]
    if known is not None and len(known):
        known_adj = adjacency(known.src, known.dst, n)[users]
        per_user_all = per_user_all - np.diff(known_adj.indptr)
        per_user_fof = per_user_fof - np.asarray(fof.multiply(known_adj).sum(axis=1)).ravel()
    return {
        "fof_recall": float(reachable.mean()),
        "fof_per_user": float(per_user_fof.mean()),
        "all_per_user": float(per_user_all.mean()),
        "fof_share_of_all": float(per_user_fof.sum() / max(per_user_all.sum(), 1.0)),
    }
