"""Pruning: a Lightning callback that reports each validation's monitored metric to the Optuna trial."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as L


class OptunaPruning(L.Callback):
    """After every validation, report `monitor` to the trial as step 0, 1, 2, ... (one step per
    validation round, i.e. per epoch by default) and stop the run with `optuna.TrialPruned` when the
    study's pruner says this trial cannot catch up. The intermediate values also feed the plots.

    With `prune=False` the values are reported but nothing is stopped (the study has no pruner).
    """

    def __init__(self, trial: Any, monitor: str, prune: bool = True) -> None:
        self.trial = trial
        self.monitor = monitor
        self.prune = prune
        self.step = 0

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        step, self.step = self.step, self.step + 1
        self.trial.report(value, step)
        if self.prune and (math.isnan(value) or self.trial.should_prune()):
            import optuna

            why = "is NaN" if math.isnan(value) else "cannot catch up with the study's other trials at this step"
            raise optuna.TrialPruned(
                f"pruned after validation {step + 1} (epoch {trainer.current_epoch}): {self.monitor}={value:.5g} {why}"
            )
