"""Two-stage serving, evaluated the way it runs: stage 1 retrieves K candidates, stage 2 re-ranks them.

`evaluate_lists` scores ranked lists with an eval suite (stage 1's own order, or the re-ranked one);
`serving_latency` times requests one at a time, each stage separately and end to end, against the
case's latency budget.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torchmetrics import Metric

from framework.data.interactions import UserItemSets
from framework.metrics.topk import RankedLists
from framework.pipeline_stages.latency import measure_latency
from framework.pipeline_stages.ranking_features import RankerFeatures
from framework.pipeline_stages.retriever import Candidates, Retriever
from framework.tasks.ranking_task import rerank


def evaluate_lists(metrics: dict[str, Metric], lists: RankedLists) -> dict[str, float]:
    out = {}
    for name, metric in metrics.items():
        m = metric.clone()
        m.reset()
        m._to_sync = False  # the lists are whole on this process: no all-gather (other DDP ranks are not here)
        m.update(lists)
        out[name] = float(m.compute())
    return out


def candidate_lists(candidates: Candidates, targets: UserItemSets, item_tags: torch.Tensor) -> RankedLists:
    """Stage 1's candidates in its own order, as lists to score."""
    return RankedLists(
        items=candidates.items,
        hits=candidates.hits(targets),
        n_relevant=targets.counts(candidates.users),
        catalog_size=len(item_tags),
        item_vectors=item_tags,
    )


def candidate_recall(candidates: Candidates, targets: UserItemSets) -> float:
    """Stage-1 recall@K: the share of each user's relevant items that reach stage 2, averaged over users."""
    n_relevant = targets.counts(candidates.users).double()
    keep = n_relevant > 0
    hits = candidates.hits(targets).sum(1).double()
    return float((hits[keep] / n_relevant[keep]).mean()) if keep.any() else 0.0


def serving_latency(
    retriever: Retriever,
    history: UserItemSets,
    users: torch.Tensor,
    ranker: tuple[torch.nn.Module, RankerFeatures] | None,
    case: DictConfig,
    seed: int,
) -> dict[str, Any]:
    """p50/p99 per request of stage 1, stage 2 and both, on CPU, one request at a time."""
    k = int(case.serving.candidates_per_request)
    n_requests = int(case.serving.latency_requests)
    order = np.random.default_rng(seed).permutation(len(users))
    request_users = [int(users[i]) for i in order[: max(1, min(len(users), n_requests + 10))]]
    pick = lambda i: request_users[i % len(request_users)]  # noqa: E731 - a request's user
    model, features = (
        (copy.deepcopy(ranker[0]).cpu().eval(), copy.deepcopy(ranker[1]).cpu()) if ranker else (None, None)
    )
    cached = {u: retriever.request(u, history, k) for u in request_users}

    def stage1(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return retriever.request(pick(i), history, k)

    def stage2(i: int, candidates: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        items, scores = candidates if candidates is not None else cached[pick(i)]
        if model is None:
            return items
        with torch.inference_mode():
            _, order = rerank(model, features, torch.tensor([pick(i)]), items[None, :], scores[None, :])
        return items[order[0]]

    out: dict[str, Any] = {"stage1": measure_latency(stage1, n_requests)}
    if model is not None:
        out["stage2"] = measure_latency(stage2, n_requests)
    total = measure_latency(lambda i: stage2(i, stage1(i)), n_requests)
    budget = float(case.design.latency_budget_ms)
    return {
        **out, "p50_ms": total["p50_ms"], "p99_ms": total["p99_ms"], "mean_ms": total["mean_ms"],
        "requests": n_requests, "candidates_per_request": k, "budget_ms": budget,
        "within_budget": total["p99_ms"] <= budget, "device": "cpu", "threads": torch.get_num_threads(),
    }  # fmt: skip
