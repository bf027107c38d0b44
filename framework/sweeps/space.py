"""Search spaces: Hydra's sweep syntax parsed into parameters Optuna can sample, with conditions.

A sweep config's `params` maps an override key (a config key such as `model.embedding_dim`, or a
config group such as `model`) to a search space written in Hydra's override grammar:

    choice(8, 16, 32)                  categorical (any values, also lists: choice([256,128],[64]))
    range(1, 5)  range(16, 65, 16)     integers start..stop-1 by step (floats: a stepped float range)
    interval(1e-4, 1e-2)               floats in [low, high]; int(interval(1, 8)) for integers
    tag(log, interval(1e-4, 1e-2))     log scale (also tag(log, range(1, 9)) and tag(log, int(interval(...))))

or to a mapping with a condition, so that the parameter is sampled only when it applies:

    model.cross_layers: {space: range(1, 5), when: {model: [dcn, dcn_v2]}}

`when` names another parameter of the space, a config group or a config key, and the values under
which this parameter exists. The module needs Hydra's grammar only; Optuna is imported by `suggest`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

SYNTAX = (
    "choice(a,b,...), range(start,stop[,step]), interval(low,high), int(interval(low,high)) or "
    "tag(log, interval(low,high)); conditional: {space: <one of those>, when: {<key>: [values]}}"
)
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_KEYWORDS = {"null", "true", "false", "nan", "inf", "choice", "range", "interval", "tag", "glob", "int", "float"}


class SpaceError(ValueError):
    """A parameter whose search space cannot be understood; the message names it and the syntax."""


def override_text(value: Any) -> str:
    """`value` written in Hydra's override grammar, so that parsing it gives `value` back."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _KEYWORDS:
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ",".join(override_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as an override value")


def canonical(value: Any) -> str:
    """Override text for comparing values: a string is read as an override value first, so that
    `when: {model.wide_crosses: ["[[C1,C2]]"]}` matches the list [[C1, C2]]."""
    if isinstance(value, str):
        try:
            parsed = OverridesParser.create().parse_override(f"k={value}")
            if not parsed.is_sweep_override():
                value = parsed.value()
        except Exception:
            pass
    return override_text(value)


def _primitive(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def stored_value(value: Any) -> Any:
    """How Optuna stores `value` of a categorical parameter (lists as their override text)."""
    return value if _primitive(value) else override_text(value)


@dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    name: str  # the override key: `model.embedding_dim`, or a group: `model`
    kind: str  # "categorical", "int" or "float"
    text: str  # the space as written, for messages
    choices: tuple[Any, ...] = ()  # categorical: the values (lists and mappings kept as Python objects)
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, allowed values as canonical override text)

    @property
    def optuna_choices(self) -> list[Any]:
        """Optuna stores None/bool/int/float/str: other values (lists) are stored as their override text."""
        return [stored_value(c) for c in self.choices]

    def distribution(self) -> Any:
        import optuna.distributions as d

        if self.kind == "categorical":
            return d.CategoricalDistribution(self.optuna_choices)
        if self.kind == "int":
            return d.IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return d.FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial: Any) -> Any:
        """Sample this parameter in an Optuna trial; returns the value as the config will hold it."""
        if self.kind == "categorical":
            stored = trial.suggest_categorical(self.name, self.optuna_choices)
            return self.choices[[canonical(c) for c in self.optuna_choices].index(canonical(stored))]
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self) -> list[Any]:
        """The finite values of a choice or range (the grid sampler enumerates them)."""
        if self.kind == "categorical":
            return self.optuna_choices
        if self.step is None:
            raise SpaceError(
                f"'{self.name}: {self.text}' is a continuous interval, which the grid sampler cannot enumerate: "
                f"use choice(...) or range(...)."
            )
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        values = [self.low + i * self.step for i in range(count)]
        return [int(v) for v in values] if self.kind == "int" else [round(v, 12) for v in values]


def _from_sweep(name: str, text: str, value: Any) -> Param:
    log = "log" in (getattr(value, "tags", None) or set())
    if isinstance(value, ChoiceSweep):
        if log:
            raise SpaceError(f"'{name}: {text}': the log tag applies to range(...) and interval(...), not choice(...).")
        if not value.list:
            raise SpaceError(f"'{name}: {text}' has no values to choose from.")
        return Param(name, "categorical", text, choices=tuple(value.list))
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step if value.step is not None else 1
        if step <= 0 or stop <= start:
            raise SpaceError(f"'{name}: {text}' is empty: range(start, stop, step) needs start < stop and step > 0.")
        count = math.ceil((stop - start) / step - 1e-9)
        last = start + (count - 1) * step
        ints = all(isinstance(v, int) for v in (start, stop, step))
        if log and (not ints or step != 1):
            raise SpaceError(f"'{name}: {text}': a log-scaled range must be integers with step 1.")
        if log and start <= 0:
            raise SpaceError(f"'{name}: {text}': a log scale needs a positive start.")
        return Param(name, "int" if ints else "float", text, low=start, high=last, step=step, log=log)
    if isinstance(value, IntervalSweep):
        low, high = value.start, value.end
        if not low < high:
            raise SpaceError(f"'{name}: {text}' is empty: interval(low, high) needs low < high.")
        if log and low <= 0:
            raise SpaceError(f"'{name}: {text}': a log scale needs low > 0.")
        kind = "int" if isinstance(low, int) and isinstance(high, int) else "float"
        return Param(name, kind, text, low=low, high=high, log=log)
    raise SpaceError(f"'{name}: {text}' is not a search space. Write one of: {SYNTAX}.")


def parse_space(name: str, text: Any) -> Param:
    """One parameter from its written space (a string in Hydra's sweep grammar)."""
    if not isinstance(text, str):
        raise SpaceError(f"'{name}' must be a search space written as text ({SYNTAX}), got {text!r}.")
    try:
        override = OverridesParser.create().parse_override(f"{name}={text}")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpaceError(f"'{name}: {text}' cannot be parsed ({first}). Write one of: {SYNTAX}.") from None
    return _from_sweep(name, text, override.value())


def parse_param(name: str, spec: Any) -> Param:
    """A parameter from a sweep config entry: a space, or {space: ..., when: {key: [values]}}."""
    if not isinstance(spec, Mapping):
        return parse_space(name, spec)
    unknown = sorted(set(map(str, spec)) - {"space", "when"})
    if unknown or "space" not in spec:
        split = any(")" in key for key in unknown)  # YAML cut an unquoted `{space: range(1, 4)}` at its comma
        hint = " In a {...} mapping, quote the space: YAML splits `range(1, 4)` at the comma." if split else ""
        raise SpaceError(
            f"'{name}' is a mapping, so it needs 'space' (and optionally 'when'), got keys {sorted(map(str, spec))}."
            f"{hint} Example: {name}: {{space: 'range(1, 5)', when: {{model: [dcn, dcn_v2]}}}}"
        )
    param = parse_space(name, spec["space"])
    when = spec.get("when") or {}
    if not isinstance(when, Mapping) or not when:
        raise SpaceError(f"'{name}.when' must map a key to the values under which '{name}' applies, got {when!r}.")
    conditions = []
    for key, allowed in when.items():
        values = [allowed] if isinstance(allowed, str | Mapping) or not isinstance(allowed, Iterable) else list(allowed)
        if not values:
            raise SpaceError(f"'{name}.when.{key}' lists no values.")
        conditions.append((str(key), tuple(canonical(v) for v in values)))
    return Param(**{**param.__dict__, "when": tuple(conditions)})


def parse_params(params: Mapping[str, Any]) -> list[Param]:
    """Every parameter of a sweep config's `params`, in dependency order (see `ordered`)."""
    return ordered([parse_param(str(name), spec) for name, spec in params.items()])


def ordered(params: list[Param]) -> list[Param]:
    """The parameters ordered so that a parameter named in a `when` is sampled before those it gates."""
    names = {p.name for p in params}
    for p in params:
        if any(key == p.name for key, _ in p.when):
            raise SpaceError(f"'{p.name}.when' refers to '{p.name}' itself.")
    placed: list[Param] = []
    pending = list(params)
    while pending:
        done = {p.name for p in placed}
        ready = [p for p in pending if all(k not in names or k in done for k, _ in p.when)]
        if not ready:
            raise SpaceError(f"The 'when' conditions of {', '.join(p.name for p in pending)} depend on each other.")
        placed += ready
        pending = [p for p in pending if p not in ready]
    return placed


def applies(param: Param, chosen: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Whether `param` exists for a trial: each `when` key holds one of its values. A key is looked up
    among the parameters sampled so far, then in `context` (the fixed config: group choices, values)."""
    for key, allowed in param.when:
        if key in chosen:
            value = chosen[key]
        elif key in context:
            value = context[key]
        else:
            return False
        if canonical(value) not in allowed:
            return False
    return True


def suggest(trial: Any, params: list[Param], context: Mapping[str, Any]) -> dict[str, Any]:
    """Sample the parameters that apply (in dependency order) and return {override key: value}."""
    chosen: dict[str, Any] = {}
    for param in params:
        if applies(param, chosen, context):
            chosen[param.name] = param.suggest(trial)
    return chosen


def grid_space(params: list[Param]) -> dict[str, list[Any]]:
    """Optuna GridSampler's search space; conditions would make the grid's product meaningless."""
    conditional = [p.name for p in params if p.when]
    if conditional:
        raise SpaceError(
            f"The grid sampler needs an unconditional space, but {', '.join(conditional)} "
            f"{'has' if len(conditional) == 1 else 'have'} 'when' conditions: use sampler.name=tpe or random."
        )
    return {p.name: p.grid_values() for p in params}
