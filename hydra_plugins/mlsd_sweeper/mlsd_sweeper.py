"""Hydra sweeper plugin `hydra/sweeper: mlsd`: runs an Optuna study over the config's `sweep` node.

Hydra finds this module by scanning the `hydra_plugins` namespace package and imports it on every
start, so it stays light: Optuna and the sweep machinery (framework.sweeps) are imported in `sweep()`.
A sweep config selects it with `defaults: [override /hydra/sweeper: mlsd]` (see conf/sweep/).
"""

# No `from __future__ import annotations`: Hydra's scanner runs this module before registering it in
# sys.modules, and dataclasses then cannot resolve string annotations.
from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


@dataclass
class MlsdSweeperConf:
    # Every setting lives in the run config's `sweep` node, which the schema validates with the rest.
    _target_: str = "hydra_plugins.mlsd_sweeper.mlsd_sweeper.MlsdSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="mlsd", node=MlsdSweeperConf, provider="mlsd")


def suffix(prefix: str, value: Any) -> str:
    """`${mlsd.suffix:debug_,${hydra:runtime.choices.debug}}`: '-debug_fast' under debug=fast, '' without debug.
    conf/sweep_defaults.yaml names a debug sweep's study apart from the real one with it."""
    return "" if value is None else f"-{prefix}{value}"


# Registered here because Hydra imports this module on every start (and compose() too), before any config resolves.
OmegaConf.register_new_resolver("mlsd.suffix", suffix, replace=True)


class MlsdSweeper(Sweeper):
    def __init__(self) -> None:
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def sweep(self, arguments: list[str]) -> Any:
        from hydra.core.hydra_config import HydraConfig

        from framework.errors import ConfigError
        from framework.sweeps.hydra_glue import sweep
        from framework.validation import validate

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        HydraConfig.instance().set_config(self.config)  # the sweep node may use ${hydra:runtime.choices...}
        if self.config.get("sweep") is None:
            raise ConfigError(
                "hydra/sweeper=mlsd runs the study described by a sweep config, and none is selected: "
                "add sweep=<name> (conf/sweep/, e.g. sweep=ad_click_dcn)."
            )
        validate(self.config)  # the whole run config, the sweep node included: bad input stops before any trial
        return sweep(self.hydra_context, self.task_function, self.config, arguments)
