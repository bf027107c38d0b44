"""An eval suite (conf/eval/*.yaml) as metric objects: the names and the monitored metric live there only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig

from framework.errors import ConfigError


def build_metrics(eval_cfg: DictConfig) -> dict[str, Any]:
    """name -> torchmetrics Metric; the suite's mode must agree with the monitored metric's direction."""
    from hydra.utils import instantiate

    metrics = {str(name): instantiate(node) for name, node in eval_cfg.metrics.items()}
    better_high = getattr(metrics[eval_cfg.monitor], "higher_is_better", None)
    if better_high is not None and better_high != (eval_cfg.mode == "max"):
        raise ConfigError(
            f"eval.mode is '{eval_cfg.mode}', but the monitored metric '{eval_cfg.monitor}' is better when "
            f"{'higher' if better_high else 'lower'}: set eval.mode={'max' if better_high else 'min'}."
        )
    return metrics


def compute_once(metrics: dict[str, Any], *inputs: Any, select: Callable[[Any], Any] | None = None) -> dict[str, float]:
    """name -> value of each metric of the suite on one whole split, outside a training loop.

    Every metric is updated with `inputs` (`update(*inputs)`: e.g. predictions and targets), or with
    `select(metric)` when given (a suite whose metrics read different views of the scores). Fresh clones:
    the suite's own states are untouched, and nothing is all-gathered (the split is whole on this process;
    other DDP ranks are not here)."""
    out = {}
    for name, metric in metrics.items():
        m = metric.clone()
        m.reset()
        m._to_sync = False
        if select is not None:
            m.update(select(metric))
        else:
            m.update(*inputs)
        out[name] = float(m.compute())
    return out
