"""Two-stage serving, timed the way it runs: one request at a time, stage 1 (encode the user, search the
index, drop seen items), stage 2 (re-rank the K candidates), and both end to end, against the case's
latency budget."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from framework.data.interactions.table import UserItemSets
from framework.serving.latency import measure_latency
from framework.serving.retriever import Retriever
from framework.tasks.two_stage.ranker_features import RankerFeatures
from framework.tasks.two_stage.ranking import rerank


def two_stage_latency(
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
        **out,
        "p50_ms": total["p50_ms"],
        "p99_ms": total["p99_ms"],
        "mean_ms": total["mean_ms"],
        "requests": n_requests,
        "candidates_per_request": k,
        "budget_ms": budget,
        "within_budget": total["p99_ms"] <= budget,
        "device": "cpu",
        "threads": torch.get_num_threads(),
    }
