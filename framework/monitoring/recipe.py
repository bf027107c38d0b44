"""The recipe a run takes instead of its kind's when `retraining` is set (framework.pipeline picks it): the
log in time windows, then the replay, by the case's task kind: a click log's (ctr: replay.py) or a watch
log's stage-1 retrieval + index (two_stage: retrieval_replay.py). Kept out of the kinds' recipes so the
task kinds never import monitoring (monitoring builds on them: it trains their tasks)."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from torchmetrics import Metric

from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext


def load_data(cfg: DictConfig) -> Any:
    """The dataset in `retraining.windows` time windows (ConfigError when they would be too small)."""
    if cfg.case.task == "two_stage":
        from framework.monitoring.retrieval_replay import load_windows

        return load_windows(cfg)
    from framework.monitoring.windows import load_windows

    return load_windows(cfg)


def run_case(ctx: RunContext, data: Any, metrics: dict[str, Metric]) -> RecipeResult:
    """The replay of the case's kind over the windows `load_data` cut."""
    if ctx.cfg.case.task == "two_stage":
        from framework.monitoring.retrieval_replay import run_replay

        return run_replay(ctx, data, metrics)
    from framework.monitoring.replay import run_replay

    return run_replay(ctx, data, metrics)
