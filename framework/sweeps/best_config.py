"""The best trial as a ready-to-run experiment preset.

The preset names the trial's config-group choices (`override /model: deepfm`) and sets every value
in which the trial's config differs from what those choices alone compose to: the sampled
parameters, command-line values, anything the sweep file itself set. Run it with

    python run.py --config-dir <study dir> experiment=best_<study>

(`--config-dir` adds the study directory to the config search path; the preset lies in its
`experiment/` folder, like the presets of conf/experiment/, and can be copied there to keep it.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Groups the preset does not choose: the sweep itself, the preset's own group, the automatic pair overrides.
_SKIPPED_GROUPS = ("sweep", "experiment", "case_model")
# Values that belong to the sweep, not to the model it found.
_SKIPPED_KEYS = ("sweep", "logger.group", "tags")


def leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested container as {"a.b.c": value}; an empty mapping is a leaf of its own."""
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def _skipped(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in _SKIPPED_KEYS)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def groups_after_experiment(run_yaml: Path) -> list[str]:
    """Groups the root config lists after `experiment`: a preset cannot override those (Hydra lets a
    defaults list override only groups that come before it), so their values are written out instead."""
    names = []
    for entry in OmegaConf.load(run_yaml).get("defaults", []):
        if isinstance(entry, DictConfig):
            names += [str(k).split()[-1] for k in entry]
    return names[names.index("experiment") + 1 :] if "experiment" in names else []


def preset_text(
    trial_cfg: DictConfig,
    compose: Callable[[list[str]], DictConfig],
    header: list[str],
    always: set[str],
    late_groups: list[str],
) -> tuple[str, list[str]]:
    """The preset's YAML for the trial whose composed config is `trial_cfg`; `compose(overrides)`
    composes the run config; keys in `always` (the swept ones) are written even where they equal the
    default. Returns (text, keys that could not be expressed)."""
    choices = trial_cfg.hydra.runtime.choices
    chosen = {str(g): str(c) for g, c in choices.items() if c is not None and not str(g).startswith("hydra/")}
    groups = {g: c for g, c in chosen.items() if g not in _SKIPPED_GROUPS and g not in late_groups}
    always = {a for a in always if a not in chosen}  # a swept group is written as its choice, not its values
    base = compose([f"{g}={c}" for g, c in groups.items()])
    strip = [k for k in trial_cfg if k != "hydra"]
    trial = leaves(OmegaConf.to_container(OmegaConf.masked_copy(trial_cfg, strip), resolve=False))
    plain = leaves(OmegaConf.to_container(OmegaConf.masked_copy(base, [k for k in base if k != "hydra"])))
    values = {
        k: v
        for k, v in trial.items()
        if not _skipped(k) and (k not in plain or plain[k] != v or any(k == a or k.startswith(a + ".") for a in always))
    }
    lost = sorted(k for k in plain if k not in trial and not _skipped(k))
    body = {"defaults": [{f"override /{g}": c} for g, c in groups.items()], **_nest(values)}
    lines = ["# @package _global_", *(f"# {line}" for line in header)]
    for group in late_groups:
        if group in chosen and group not in _SKIPPED_GROUPS:
            lines.append(f"# {group}={chosen[group]} was on: its values are written out (a preset cannot pick it).")
    if lost:
        lines.append(f"# Removed in the trial, not expressible here: {', '.join(lost)}")
    return "\n".join(lines) + "\n" + OmegaConf.to_yaml(OmegaConf.create(body)), lost
