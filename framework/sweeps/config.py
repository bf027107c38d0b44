"""The `sweep` config node: its schema and checks (conf/sweep_defaults.yaml explains each key).

Read by `framework.schema` before any heavy import: only dataclasses and the generic checker here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf

from framework.checks import Problems, at_least, value_of


@dataclass
class SamplerConfig:
    name: Literal["tpe", "random", "grid"] = "tpe"
    seed: int | None = None  # trial k samples with seed + k (null: unseeded)
    n_startup_trials: int = 10  # tpe: random trials before the model takes over


@dataclass
class PrunerConfig:
    name: Literal["median", "hyperband", "none"] = "median"
    n_startup_trials: int = 5  # median: complete trials before any trial is pruned
    n_warmup_steps: int = 0  # median: validations a trial always gets
    min_resource: int = 1  # hyperband: validations every trial gets
    max_resource: int | None = None  # hyperband: null = trainer.max_epochs
    reduction_factor: int = 3


@dataclass
class SweepConfig:
    """An Optuna study over a search space (framework.sweeps)."""

    study_name: str = ""
    n_trials: int = 20  # the study's total, over all invocations and workers
    dir: str = ""  # study.db (default storage), trials/, summary.json, plots/, the best preset
    storage: str | None = None  # null = SQLite under `dir`; a database URL for distributed workers
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    params: dict[str, Any] = field(default_factory=dict)  # override key -> search space (framework.sweeps.space)
    enqueue: list[dict[str, Any]] = field(default_factory=list)  # parameter sets to try first
    heartbeat_interval: int = 10
    grace_period: int | None = None
    db_retries: int = 8
    db_backoff_s: float = 1.0
    top_k: int = 5
    plots: bool = True
    allow_changes: bool = False  # join a study created with another fixed config or search space (see guard)


MINIMUM = {
    "n_trials": 1,
    "heartbeat_interval": 1,
    "grace_period": 1,
    "db_retries": 0,
    "top_k": 1,
    "pruner.n_startup_trials": 0,
    "pruner.n_warmup_steps": 0,
    "pruner.min_resource": 1,
    "pruner.reduction_factor": 2,
    "pruner.max_resource": 1,
    "sampler.n_startup_trials": 0,
}


def check(cfg: DictConfig, problems: Problems) -> None:
    """The search space's syntax, the sampler's needs, settings' ranges; trials run in one process."""
    sweep = cfg.get("sweep")
    if not isinstance(sweep, DictConfig):
        return
    from framework.sweeps.space import SpaceError, grid_space, ordered, parse_param

    params = value_of(sweep, "params")
    parsed = []
    if isinstance(params, DictConfig):
        for name in params:
            try:
                parsed.append(parse_param(str(name), OmegaConf.to_container(params, resolve=True)[name]))
            except SpaceError as exc:
                problems.add(f"sweep.params: {exc}")
        try:
            parsed = ordered(parsed)
            if isinstance(sweep.get("sampler"), DictConfig) and value_of(sweep.sampler, "name") == "grid":
                grid_space(parsed)
        except SpaceError as exc:
            problems.add(f"sweep.params: {exc}")
    at_least(sweep, "sweep", MINIMUM, problems)
    backoff = value_of(sweep, "db_backoff_s")
    if isinstance(backoff, int | float) and backoff <= 0:
        problems.add(f"'sweep.db_backoff_s' must be positive, got {backoff}.")
    storage = value_of(sweep, "storage")
    if isinstance(storage, str) and "://" not in storage:
        problems.add(
            f"'sweep.storage' must be a database URL such as postgresql://user@host:5432/optuna or "
            f"sqlite:///path/study.db (null: SQLite under sweep.dir), got {storage!r}."
        )
    devices, nodes, strategy = (value_of(cfg.trainer, k) for k in ("devices", "num_nodes", "strategy"))
    several = any(isinstance(n, int) and n > 1 for n in (devices, nodes)) or "ddp" in str(strategy)
    if several:
        problems.add(
            "A sweep runs each trial in the sweeper's own process (its pruner stops training from inside), so "
            "trials must train in one process: use hardware=cpu or hardware=gpu, and run several sweep workers "
            "on one study (sweep.storage=postgresql://...) for parallelism."
        )
