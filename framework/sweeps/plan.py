"""What a sweep invocation will do, worked out (and checked) before the study is opened.

The search space is the sweep config's `params`, plus any sweep written on the command line
(`'model.dropout=interval(0,0.5)'` adds or replaces a parameter). A plain command-line value for a
swept key (`model.embedding_dim=32`) fixes it: the key leaves the search space. Every other
command-line override is passed to every trial unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from framework.errors import ConfigError, choices_text, did_you_mean
from framework.sweeps.space import Param, SpaceError, grid_space, ordered, override_text, parse_params, parse_space

_MISSING = object()
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class SweepPlan:
    study_name: str
    study_dir: Path
    storage_url: str
    metric: str  # the logged name of the eval suite's monitored metric, e.g. val/nce
    direction: str  # "minimize" or "maximize", from the eval suite's mode
    n_trials: int
    params: list[Param]
    fixed: list[str]  # command-line overrides every trial gets
    context: dict[str, Any]  # fixed values a parameter's `when` may name: group choices, config values
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the worker should tell the user before starting
    fixed_config: dict[str, Any] = field(default_factory=dict)  # what every trial shares (framework.sweeps.guard)
    space: dict[str, str] = field(default_factory=dict)  # the search space, one canonical line per parameter


def _group_choices(config: DictConfig) -> dict[str, Any]:
    choices = config.hydra.runtime.choices
    return {str(k): v for k, v in choices.items() if not str(k).startswith("hydra/")}


def _lookup(config: DictConfig, groups: dict[str, Any], key: str) -> Any:
    if key in groups:
        return groups[key]
    return OmegaConf.select(config, key, default=_MISSING, throw_on_missing=False)


def _command_line(arguments: list[str]) -> tuple[dict[str, Param], list[str], set[str]]:
    """Sweeps written on the command line, the plain overrides, and the keys those overrides set."""
    parser = OverridesParser.create()
    swept: dict[str, Param] = {}
    fixed: list[str] = []
    fixed_keys: set[str] = set()
    for text in arguments:
        override = parser.parse_override(text)
        key = override.key_or_group
        if override.is_sweep_override():
            try:
                swept[key] = parse_space(key, text.split("=", 1)[1])
            except SpaceError as exc:
                raise ConfigError(f"Command-line sweep {text!r}: {exc}") from None
        else:
            fixed.append(text)
            fixed_keys.add(key)
    return swept, fixed, fixed_keys


def make_plan(config: DictConfig, arguments: list[str], group_options: Any) -> SweepPlan:
    """`config`: the sweep's composed primary config (with its hydra node); `arguments`: the
    command-line overrides; `group_options(group)`: the options of a config group (to check choices)."""
    sweep = config.sweep
    try:
        params = {p.name: p for p in parse_params(OmegaConf.to_container(sweep.params, resolve=True))}
    except SpaceError as exc:  # validate() reports these first; kept for callers that skip it
        raise ConfigError(f"sweep.params: {exc}") from None
    swept, fixed, fixed_keys = _command_line(arguments)
    notes = []
    for key in sorted(fixed_keys & set(params)):
        notes.append(f"{key} is fixed on the command line, so it is not searched")
        del params[key]
    params.update(swept)
    if not params:
        raise ConfigError(
            "The sweep has nothing to search: sweep.params is empty (and no sweep on the command line). "
            "Add parameters, e.g. 'optim.optimizer.lr=tag(log, interval(1e-4, 1e-2))'."
        )
    groups = _group_choices(config)
    problems = []
    for param in params.values():
        if param.name in groups:
            options = list(group_options(param.name))
            for value in param.choices:
                if str(value) not in options:
                    hint, known = did_you_mean(str(value), options), choices_text(options)
                    problems.append(
                        f"sweep.params.{param.name}: unknown {param.name} '{value}'.{hint} Options: {known}."
                    )
            if param.kind != "categorical":
                problems.append(f"sweep.params.{param.name} is a config group: sweep it with choice(...).")
        elif not param.when and _lookup(config, groups, param.name) is _MISSING:
            parent, _, leaf = param.name.rpartition(".")
            node = OmegaConf.select(config, parent) if parent else config
            keys = [str(k) for k in node] if isinstance(node, DictConfig) else []
            problems.append(
                f"sweep.params.{param.name}: the config has no key '{param.name}'.{did_you_mean(leaf, keys)}"
                + (f" Keys in '{parent}': {choices_text(keys)}." if keys else "")
                + " (A key that exists only for some choices needs a 'when' condition.)"
            )
        for key, _ in param.when:
            if key not in params and _lookup(config, groups, key) is _MISSING:
                problems.append(
                    f"sweep.params.{param.name}.when: '{key}' is neither a swept parameter nor a config key or group."
                )
    if problems:
        raise ConfigError("\n".join(f"• {p}" for p in problems))

    try:
        ordered_params = ordered(list(params.values()))
        if sweep.sampler.name == "grid":
            grid_space(ordered_params)  # command-line sweeps too must be finite for the grid
    except SpaceError as exc:
        raise ConfigError(f"sweep.params: {exc}") from None
    context = {}
    for param in params.values():
        for key, _ in param.when:
            if key not in params:
                context[key] = _lookup(config, groups, key)
    study_name = str(sweep.study_name)
    if not STUDY_NAME.match(study_name):
        raise ConfigError(
            f"sweep.study_name '{study_name}' must start with a letter or digit and hold only letters, digits, "
            f"'_', '.' and '-' (it names the study's folder)."
        )
    study_dir = Path(str(sweep.dir))
    from framework.sweeps.guard import fixed_config, search_space
    from framework.sweeps.storage import default_url

    return SweepPlan(
        study_name=study_name,
        study_dir=study_dir,
        storage_url=str(sweep.storage) if sweep.storage else default_url(study_dir),
        metric=f"val/{config.eval.monitor}",
        direction="minimize" if config.eval.mode == "min" else "maximize",
        n_trials=int(sweep.n_trials),
        params=ordered_params,
        fixed=fixed,
        context=context,
        tags=[str(t) for t in config.tags],
        notes=notes,
        fixed_config=fixed_config(config, ordered_params),
        space=search_space(ordered_params),
    )


def trial_overrides(plan: SweepPlan, values: dict[str, Any]) -> list[str]:
    """The overrides that make a trial: the fixed ones, then the sampled values."""
    return [*plan.fixed, *(f"{key}={override_text(value)}" for key, value in values.items())]
