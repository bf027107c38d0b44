"""A study's identity: the fixed config and the search space it was created with.

Trials of one study are compared with each other (the sampler learns from them, the pruner prunes
against them), so they must share everything but the searched parameters. The first worker records
both as study user attributes; a later invocation, or another worker, that differs stops before any
trial (unless `sweep.allow_changes=true`).

The fixed config is the sweep's composed config *unresolved*: an interpolation such as
`${paths.cache_dir}/...` compares as written, so workers on machines with other paths agree, while the
keys it points to are compared where they live. Left out: the searched parameters (and, for a searched
config group, its whole node), and what does not change a trial's result (EXCLUDED, EXCLUDED_GROUPS).
The global `seed` stays in: every trial trains with it (the sampler's per-trial seed, `seed + trial
number`, lives in the sweep node, which is left out).
"""

from __future__ import annotations

import json
from typing import Any

from omegaconf import DictConfig, OmegaConf

from framework.errors import ConfigError
from framework.sweeps.best_config import leaves
from framework.sweeps.space import Param, override_text

# Keys (with everything below them) that say how a sweep runs or reports, not what a trial computes.
EXCLUDED = (
    "hydra",  # run directories, launcher, logging
    "sweep",  # the study's bookkeeping: name, n_trials, storage, dir, heartbeats, sampler and pruner settings
    "paths",  # machine-specific folders
    "logger",  # tracking only
    "tags",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
)
EXCLUDED_GROUPS = ("sweep", "paths", "logger")  # and hydra/*
FIXED_ATTR, SPACE_ATTR = "fixed_config", "search_space"  # the study's user attributes
SHOWN = 12  # differences listed in the message
_ABSENT = object()


def _below(key: str, prefixes: set[str] | tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _json(value: Any) -> Any:
    """As the study stores it (tuples become lists), so that recorded and current values compare equal."""
    return json.loads(json.dumps(value))


def fixed_config(config: DictConfig, params: list[Param]) -> dict[str, Any]:
    """{'choices': config group -> option, 'values': dotted key -> value as written}, without what varies."""
    searched = {p.name for p in params}
    choices = {
        str(group): option
        for group, option in config.hydra.runtime.choices.items()
        if not str(group).startswith("hydra/") and str(group) not in EXCLUDED_GROUPS and str(group) not in searched
    }
    values = {
        key: value
        for key, value in leaves(OmegaConf.to_container(config, resolve=False)).items()
        if not _below(key, EXCLUDED) and not _below(key, searched)
    }
    return _json({"choices": choices, "values": values})


def describe(param: Param) -> str:
    """A parameter's space in one canonical line (the same space written differently compares equal)."""
    if param.kind == "categorical":
        text = f"choice({', '.join(override_text(c) for c in param.choices)})"
    else:
        text = f"{param.kind} [{override_text(param.low)}, {override_text(param.high)}]"
        text += f" step {override_text(param.step)}" if param.step is not None else ""
        text += " log" if param.log else ""
    for key, allowed in param.when:
        text += f" when {key} in [{', '.join(allowed)}]"
    return text


def search_space(params: list[Param]) -> dict[str, str]:
    return {p.name: describe(p) for p in params}


def _shown(value: Any) -> str:
    text = override_text(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _changes(label: str, before: dict[str, Any], after: dict[str, Any], absent: str) -> list[str]:
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if old != new:
            old_text, new_text = (absent if v is _ABSENT else _shown(v) for v in (old, new))
            lines.append(f"{label.format(key)}: {old_text} -> {new_text}")
    return lines


def differences(recorded: dict[str, Any], fixed: dict[str, Any], space: dict[str, str]) -> list[str]:
    """What differs between the study's record (its user attributes) and this invocation, one line each."""
    before_fixed, before_space = recorded.get(FIXED_ATTR) or {}, recorded.get(SPACE_ATTR) or {}
    searched = set(before_space) | set(space)  # a key searched on one side only: its search space line says it

    def kept(node: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in node.items() if not _below(k, searched)}

    return [
        *_changes("{} (config group)", kept(before_fixed.get("choices", {})), kept(fixed["choices"]), "(none)"),
        *_changes("{}", kept(before_fixed.get("values", {})), kept(fixed["values"]), "(absent)"),
        *_changes("search space {}", before_space, space, "(not searched)"),
    ]


def listing(changes: list[str]) -> str:
    """The first SHOWN differences as bullet lines."""
    more = [f"... and {len(changes) - SHOWN} more"] if len(changes) > SHOWN else []
    return "\n".join(f"  • {c}" for c in [*changes[:SHOWN], *more])


def check_study(study: Any, where: str, fixed: dict[str, Any], space: dict[str, str], allow_changes: bool) -> list[str]:
    """Record the study's identity if it has none yet; otherwise refuse (ConfigError) an invocation that
    differs from it, or, with `allow_changes`, return the differences for the worker to show.
    `study`: an optuna.Study; `where`: the storage as shown to the user."""
    recorded = study.user_attrs
    if FIXED_ATTR not in recorded or SPACE_ATTR not in recorded:  # a new study (or one from before this check)
        study.set_user_attr(FIXED_ATTR, fixed)
        study.set_user_attr(SPACE_ATTR, space)
        return []
    changes = differences(recorded, fixed, space)
    if not changes or allow_changes:
        return changes
    raise ConfigError(
        f"Study '{study.study_name}' in {where} was created with another fixed config or search space, "
        f"so its trials and this sweep's would not be comparable:\n{listing(changes)}\n"
        f"Pick a new sweep.study_name for this sweep (a new study), or set sweep.allow_changes=true "
        f"to run it in this study anyway."
    )
