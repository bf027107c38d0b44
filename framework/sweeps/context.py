"""The trial a sweep is running right now, handed from the sweeper to the Hydra job in the same process.

The sweeper launches each trial as a Hydra job in its own process (Hydra's basic launcher); the job
function (`framework.cli._hydra_main`) asks `active()` for the trial to attach the pruning callback
and to record the trial in run.json. Nothing here imports Optuna or Lightning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig


@dataclass
class TrialContext:
    trial: Any  # optuna.Trial
    study_name: str
    params: dict[str, Any] = field(default_factory=dict)
    prune: bool = True  # False when the sweep's pruner is "none": no callback, no intermediate reports

    def callbacks(self, cfg: DictConfig) -> list:
        """Lightning callbacks for the trial's run: report each validation's monitored metric, prune."""
        from framework.sweeps.pruning import OptunaPruning

        return [OptunaPruning(self.trial, f"val/{cfg.eval.monitor}", prune=self.prune)]

    def record(self) -> dict[str, Any]:
        """What run.json says about the sweep this run belongs to."""
        return {"sweep": {"study": self.study_name, "trial": self.trial.number, "params": self.params}}


_active: TrialContext | None = None


def active() -> TrialContext | None:
    return _active


@contextlib.contextmanager
def activate(ctx: TrialContext) -> Iterator[TrialContext]:
    global _active
    _active = ctx
    try:
        yield ctx
    finally:
        _active = None
