"""Serving-time latency of a ranking model: score one request's candidates, on CPU, one at a time."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from framework.data.batching import TensorTable
from framework.pipeline_stages.latency import measure_latency


def serving_latency(model: torch.nn.Module, table: TensorTable, case: DictConfig, seed: int) -> dict[str, Any]:
    """p50/p99 of scoring `candidates_per_request` test rows per request, against the case's budget."""
    k = min(int(case.serving.candidates_per_request), len(table))
    scorer = copy.deepcopy(model).cpu().eval()
    starts = np.random.default_rng(seed).integers(0, max(1, len(table) - k), size=10_000)

    def request(i: int) -> None:
        start = int(starts[i % len(starts)])
        batch = table[slice(start, start + k)]
        with torch.inference_mode():
            scorer(batch["categorical"], batch["numeric"])

    stats = measure_latency(request, int(case.serving.latency_requests))
    budget = float(case.design.latency_budget_ms)
    return {
        **stats, "candidates_per_request": k, "budget_ms": budget, "within_budget": stats["p99_ms"] <= budget,
        "device": "cpu", "threads": torch.get_num_threads(),
    }  # fmt: skip
