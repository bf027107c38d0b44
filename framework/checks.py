"""The generic config checker: unknown keys (with did-you-mean), wrong types, `_target_` arguments read
from source (no import), eval suites. Every schema (run, sweep, each task kind's nodes) uses these; the
messages name the key, the value and the allowed choices.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from typing import Any, Literal

from omegaconf import DictConfig, ListConfig, OmegaConf

from framework.errors import ConfigError, choices_text, did_you_mean
from framework.signatures import REQUIRED, TargetSignature, read_signature

# Constructor parameters filled by the pipeline, never by config: a model's feature spec (and a multi-task
# model's heads), an optimizer's parameters, a learning-rate scheduler's optimizer.
INJECTED = {"feature_spec", "heads", "params", "optimizer"}

_UNRESOLVED = object()
_SEQUENCES = (list, tuple, collections.abc.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping)


def value_of(node: DictConfig, key: str) -> Any:
    """A value with interpolations resolved where possible (hydra: resolvers need a running app)."""
    try:
        value = node[key]
    except Exception:
        return _UNRESOLVED
    if isinstance(value, DictConfig | ListConfig):
        return value
    return value


def type_name(tp: Any) -> str:
    if tp is Any:
        return "any value"
    if tp is type(None) or tp is None:
        return "null"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if origin in _SEQUENCES or tp in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if not args:
            return "a list"
        element = type_name(args[0])  # "a string" -> "a list of strings"; "one of 'x', 'y'" -> "a list of (...)"
        for article in ("a ", "an "):
            if element.startswith(article):
                return f"a list of {element.removeprefix(article)}s"
        return f"a list of ({element})"
    if origin in _MAPPINGS or tp is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def matches(value: Any, tp: Any) -> bool:
    """Does a (resolved) config value fit the annotation?"""
    if tp is Any or value is _UNRESOLVED:
        return True
    if tp is None or tp is type(None):
        return value is None
    origin = typing.get_origin(tp)
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, a) for a in typing.get_args(tp))
    if origin in _SEQUENCES or tp in (list, tuple):
        if not isinstance(value, ListConfig | list | tuple):
            return False
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return not args or all(matches(v, args[0]) for v in value)
    if origin in _MAPPINGS or tp is dict or dataclasses.is_dataclass(tp):
        return isinstance(value, DictConfig | dict)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    return True


class Problems:
    """Collects every problem of a config so the user fixes them in one go."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def unknown_key(self, path: str, key: str, allowed: list[str], where: str = "") -> None:
        full = f"{path}.{key}" if path else key
        self.items.append(
            f"Unknown key '{full}'{where}.{did_you_mean(key, allowed)} "
            f"Allowed keys{' in ' + path if path else ''}: {choices_text(allowed)}."
        )

    def wrong_type(self, full: str, value: Any, tp: Any) -> None:
        shown = OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value
        self.items.append(f"'{full}' must be {type_name(tp)}, got {shown!r}.")

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError("\n".join(f"• {m}" for m in self.items))


def check_dataclass(
    node: DictConfig, schema: type, path: str, problems: Problems, extra_allowed: tuple[str, ...] = ()
) -> None:
    """Unknown keys and types of `node` against a dataclass schema, recursively. `extra_allowed` keys are
    listed as allowed in the message (they are checked elsewhere and not part of `node`)."""
    hints = typing.get_type_hints(schema)
    allowed = [f.name for f in dataclasses.fields(schema)] + list(extra_allowed)
    for key in node:
        key = str(key)
        full = f"{path}.{key}" if path else key
        if key not in hints:
            problems.unknown_key(path, key, allowed)
            continue
        value, tp = value_of(node, key), hints[key]
        nested = [a for a in (typing.get_args(tp) or (tp,)) if dataclasses.is_dataclass(a)]
        if nested and isinstance(value, DictConfig):
            check_dataclass(value, nested[0], full, problems)
        elif not matches(value, tp):
            problems.wrong_type(full, value, tp)


def check_target(
    node: DictConfig, path: str, problems: Problems, sig: TargetSignature | None, extra_allowed: tuple = ()
) -> None:
    """A `_target_` node's keys against the target's parameters: unknown, missing, wrongly typed."""
    if sig is None:
        return  # not readable without import: validate_targets() checks it after the heavy imports
    allowed = [p for p in sig.params if p not in INJECTED]
    where = f" (not a parameter of {sig.target})"
    for key in node:
        key = str(key)
        if key.startswith("_") or key in extra_allowed:
            continue
        if key not in sig.params or key in INJECTED:
            if not sig.accepts_var_kwargs:
                problems.unknown_key(path, key, [*allowed, *extra_allowed], where)
            continue
        value = value_of(node, key)
        if not matches(value, sig.params[key].annotation):
            problems.wrong_type(f"{path}.{key}", value, sig.params[key].annotation)
    for p in sig.params.values():
        if p.default is REQUIRED and p.name not in INJECTED and p.name not in node.keys():  # noqa: SIM118 - `in node` is False for ??? values
            problems.add(f"'{path}.{p.name}' is required by {sig.target}: set it, e.g. {path}.{p.name}=...")
    missing = [str(k) for k in node if not str(k).startswith("_") and OmegaConf.is_missing(node, str(k))]
    for key in missing:
        problems.add(f"'{path}.{key}' must be set (it is ??? in the config), e.g. {path}.{key}=...")


def target_of(node: Any, path: str, problems: Problems) -> str | None:
    if not isinstance(node, DictConfig) or "_target_" not in node:
        problems.add(f"'{path}' must be a mapping with a _target_ (the class or function to build).")
        return None
    return str(node._target_)


def check_target_node(node: Any, path: str, problems: Problems, extra_allowed: tuple = ()) -> None:
    target = target_of(node, path, problems)
    if target is not None:
        check_target(node, path, problems, read_signature(target), extra_allowed)


def check_eval_suite(node: DictConfig, problems: Problems, path: str = "eval") -> None:
    metrics = value_of(node, "metrics")
    if not isinstance(metrics, DictConfig) or len(metrics) == 0:
        problems.add(f"'{path}.metrics' must name at least one metric.")
        return
    for name in metrics:
        check_target_node(metrics[name], f"{path}.metrics.{name}", problems)
    monitor = value_of(node, "monitor")
    if isinstance(monitor, str) and monitor not in metrics:
        problems.add(
            f"'{path}.monitor' is '{monitor}', which is not a metric of this eval suite."
            f"{did_you_mean(monitor, [str(m) for m in metrics])} Metrics: {choices_text(str(m) for m in metrics)}."
        )
    elif isinstance(monitor, str) and isinstance(metrics[monitor], DictConfig) and "_target_" in metrics[monitor]:
        sig = read_signature(str(metrics[monitor]._target_))
        higher = sig.attributes.get("higher_is_better") if sig is not None else None
        if sig is not None and higher is None and sig.source_file:  # inherited from a base class of the module
            higher = inherited_attribute(sig, "higher_is_better")
        if isinstance(higher, bool) and higher != (value_of(node, "mode") == "max"):
            problems.add(
                f"'{path}.mode' is '{value_of(node, 'mode')}', but the monitored metric '{monitor}' is better when "
                f"{'higher' if higher else 'lower'}: set {path}.mode={'max' if higher else 'min'}."
            )


def inherited_attribute(sig: TargetSignature, name: str) -> Any:
    """A literal class attribute of the target's base classes in the same module (one level of reading)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(sig.source_file).read_text(encoding="utf-8"))
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    node = classes.get(sig.target.rsplit(".", 1)[-1])
    while node is not None:
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                try:
                    return ast.literal_eval(stmt.value)
                except ValueError:
                    return None
        bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        node = next((classes[b] for b in bases if b in classes), None)
    return None


def number_at(node: DictConfig, key: str) -> int | float | None:
    """The number at a dotted key, or None (absent, null, not a number, or a bool)."""
    value = OmegaConf.select(node, key, default=None, throw_on_missing=False)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def at_least(node: DictConfig, path: str, minimum: dict[str, int | float], problems: Problems) -> None:
    """Each `key: low` of `minimum` (dotted keys allowed): a number below `low` is a problem."""
    for key, low in minimum.items():
        if (value := number_at(node, key)) is not None and value < low:
            problems.add(f"'{f'{path}.{key}' if path else key}' must be at least {low}, got {value}.")
