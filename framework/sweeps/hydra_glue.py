"""What the Hydra sweeper plugin calls once it has checked the config: plan the sweep, hand trials to
Hydra's launcher. (The check is the plugin's: validation sits above this package.)"""

from __future__ import annotations

from typing import Any

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from framework.errors import ConfigError

BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def sweep(hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig, arguments: list[str]) -> Any:
    from hydra.core.plugins import Plugins

    launcher_target = str(config.hydra.launcher.get("_target_", ""))
    if launcher_target != BASIC_LAUNCHER:
        raise ConfigError(
            f"The mlsd sweeper runs each trial in its own process (to prune it from inside training), "
            f"but hydra/launcher is {launcher_target}. Use the basic launcher, and start several sweep "
            f"workers on one study (sweep.storage=postgresql://...) to run trials in parallel."
        )
    from framework.sweeps.plan import make_plan
    from framework.sweeps.runner import run_sweep, set_sweep_dir

    loader = hydra_context.config_loader
    plan = make_plan(config, arguments, lambda group: loader.get_group_options(group))
    set_sweep_dir(config, plan.study_dir)
    launcher = Plugins.instance().instantiate_launcher(
        hydra_context=hydra_context, task_function=task_function, config=config
    )
    return run_sweep(plan, config, launcher, lambda overrides: loader.load_sweep_config(config, list(overrides)))
