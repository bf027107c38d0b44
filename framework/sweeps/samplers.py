"""Samplers and pruners from the sweep config.

Seeding: a sampler seeded once per process proposes the same parameters again when a study is
resumed by a second invocation, and two workers started with the same seed propose the same
parameters as each other. `TrialSeededSampler` instead seeds a fresh sampler for every trial with
`seed + trial number`: trial numbers are unique in a study, so every trial gets its own seed, and
trial k gets the same seed whether the study ran in one go, was resumed, or was shared by workers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
from omegaconf import DictConfig
from optuna.samplers import BaseSampler

from framework.sweeps.space import Param, grid_space


class TrialSeededSampler(BaseSampler):
    """Delegates to `make(seed + trial.number)`, created afresh in `before_trial` (which Optuna calls
    once the trial exists and has its number, before anything is sampled)."""

    def __init__(self, make: Callable[[int | None], BaseSampler], seed: int | None) -> None:
        self.make = make
        self.seed = seed
        self.inner = make(seed)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.inner = self.make(None if self.seed is None else self.seed + trial.number)
        self.inner.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, search_space: dict[str, Any]
    ) -> dict[str, Any]:
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, param_name: str, param_distribution: Any
    ) -> Any:
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: Any, values: list[float] | None
    ) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()

    def is_exhausted(self, study: optuna.Study) -> bool:
        """Grid sampler: every grid point has a trial (finished or running)."""
        return isinstance(self.inner, optuna.samplers.GridSampler) and self.inner.is_exhausted(study)


def build_sampler(sampler: DictConfig, params: list[Param]) -> TrialSeededSampler:
    name = str(sampler.name)
    if name == "grid":
        space = grid_space(params)
        # The grid's seed only shuffles the order of the points: keep it fixed so workers agree on it.
        return TrialSeededSampler(lambda s: optuna.samplers.GridSampler(space, seed=sampler.seed), sampler.seed)
    if name == "random":
        return TrialSeededSampler(lambda s: optuna.samplers.RandomSampler(seed=s), sampler.seed)

    def tpe(seed: int | None) -> BaseSampler:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # multivariate + group: models the joint (and conditional) space, not each parameter alone;
            # constant_liar: running trials of other workers count as bad, so workers spread out.
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=int(sampler.n_startup_trials),
                multivariate=True,
                group=True,
                constant_liar=True,
            )

    return TrialSeededSampler(tpe, sampler.seed)


def build_pruner(pruner: DictConfig, max_epochs: int) -> optuna.pruners.BasePruner:
    """Steps are validation rounds (epochs by default): see framework.sweeps.pruning."""
    name = str(pruner.name)
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=int(pruner.n_startup_trials), n_warmup_steps=int(pruner.n_warmup_steps)
        )
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=int(pruner.min_resource),
            max_resource=int(pruner.max_resource) if pruner.max_resource is not None else max_epochs,
            reduction_factor=int(pruner.reduction_factor),
        )
    return optuna.pruners.NopPruner()
