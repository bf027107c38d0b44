"""Per-request latency, measured the way a service would see it: one request at a time, after warm-up."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


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
