"""Per-request latency, measured the way a service would see it: one request at a time, after warm-up."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from framework.data.batching import TensorTable


def measure_latency(request: Callable[[int], object], n_requests: int, warmup: int = 10) -> dict[str, float]:
    """Call `request(i)` for i in range(warmup + n_requests); percentiles of the timed calls in ms."""
    for i in range(warmup):
        request(i)
    times = np.empty(n_requests)
    for i in range(n_requests):
        start = time.perf_counter()
        request(warmup + i)
        times[i] = time.perf_counter() - start
    ms = times * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "requests": n_requests,
    }


def request_latency(request: Callable[[int], object], case: DictConfig, what: str) -> dict[str, Any]:
    """`measure_latency` of `case.serving.latency_requests` requests, against the case's latency budget (p99),
    with what one request does and the threads it ran on: a recipe's `serving` record."""
    stats = measure_latency(request, int(case.serving.latency_requests))
    budget = float(case.design.latency_budget_ms)
    return {
        **stats,
        "budget_ms": budget,
        "within_budget": stats["p99_ms"] <= budget,
        "request": what,
        "threads": torch.get_num_threads(),
    }


def row_scoring_latency(model: torch.nn.Module, table: TensorTable, case: DictConfig, seed: int) -> dict[str, Any]:
    """p50/p99 of a pointwise model scoring `candidates_per_request` rows of `table` per request (one
    request at a time, on CPU), against the case's latency budget."""
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
        **stats,
        "candidates_per_request": k,
        "budget_ms": budget,
        "within_budget": stats["p99_ms"] <= budget,
        "device": "cpu",
        "threads": torch.get_num_threads(),
    }
