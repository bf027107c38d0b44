"""Read the signature of a `_target_` without importing it.

Model and data modules import torch (about 2 s); a config error must answer faster than that. For
targets inside this package we parse the source with `ast` and read the constructor's parameters, their
annotations and defaults, and a class-level `tasks = (...)` tuple. Targets outside the package (torch
optimizers, torchmetrics classes) are checked later, after the heavy imports, by `inspect.signature`.
"""

from __future__ import annotations

import ast
import importlib.util
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

PACKAGE = "framework"
REQUIRED = object()  # marks a parameter without default


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any  # a typing object, or Any when the annotation names a non-config type
    default: Any = REQUIRED


@dataclass(frozen=True)
class TargetSignature:
    target: str
    params: dict[str, Param]
    accepts_var_kwargs: bool = False
    tasks: tuple[str, ...] | None = None  # class attribute `tasks`, for models
    attributes: dict[str, Any] = field(default_factory=dict, compare=False)  # literal class attributes
    source_file: str = ""
    doc: str = field(default="", compare=False)


_ANNOTATION_NAMES: dict[str, Any] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "None": None,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "Any": Any,
    "Literal": Literal,
    "Optional": typing.Optional,
    "Sequence": typing.Sequence,
    "Mapping": typing.Mapping,
}


def _annotation(node: ast.expr | None) -> Any:
    if node is None:
        return Any
    text = ast.unparse(node)
    try:  # only config-shaped annotations evaluate here; FeatureSpec, Tensor, ... become Any
        return eval(text, {"__builtins__": {}}, _ANNOTATION_NAMES)
    except Exception:
        return Any


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None  # a computed default: accept any value of the annotated type


def module_file(module: str) -> Path | None:
    """Path of a module's source, importing only its (light) parent packages."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _params_of(fn: ast.FunctionDef, skip_first: bool) -> tuple[dict[str, Param], bool]:
    a = fn.args
    positional = a.posonlyargs + a.args
    if skip_first:
        positional = positional[1:]
    defaults: list[Any] = [REQUIRED] * (len(positional) - len(a.defaults)) + [_literal(d) for d in a.defaults]
    params = {p.arg: Param(p.arg, _annotation(p.annotation), d) for p, d in zip(positional, defaults, strict=True)}
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        params[p.arg] = Param(p.arg, _annotation(p.annotation), REQUIRED if d is None else _literal(d))
    return params, a.kwarg is not None


@lru_cache(maxsize=256)
def read_signature(target: str) -> TargetSignature | None:
    """Signature of `package.module.Name` (class or function) from source; None if not readable."""
    module, _, name = target.rpartition(".")
    path = module_file(module) if module.split(".")[0] == PACKAGE else None
    if path is None:
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return _signature_in(tree, target, name, path)


def _signature_in(tree: ast.Module, target: str, name: str, path: Path) -> TargetSignature | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            params, var_kw = _params_of(node, skip_first=False)
            return TargetSignature(target, params, var_kw, None, {}, str(path), ast.get_docstring(node) or "")
        if isinstance(node, ast.ClassDef) and node.name == name:
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            attributes: dict[str, Any] = {}
            for n in node.body:
                targets = [n.target] if isinstance(n, ast.AnnAssign) else getattr(n, "targets", [])
                for t in targets:
                    if isinstance(t, ast.Name) and getattr(n, "value", None) is not None:
                        attributes[t.id] = _literal(n.value)
            if init is None:  # inherited: from a base class in the same module, else checked at import time
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                inherited = next((s for b in bases if (s := _signature_in(tree, target, b, path))), None)
                if inherited is None:
                    return None
                params, var_kw = inherited.params, inherited.accepts_var_kwargs
                attributes = {**inherited.attributes, **attributes}
            else:
                params, var_kw = _params_of(init, skip_first=True)
            tasks = tuple(attributes["tasks"]) if isinstance(attributes.get("tasks"), tuple | list) else None
            doc = ast.get_docstring(node) or ""
            return TargetSignature(target, params, var_kw, tasks, attributes, str(path), doc)
    return None


def signature_from_object(target: str, obj: Any) -> TargetSignature:
    """Signature of an imported callable (used after heavy imports, for targets outside the package)."""
    import inspect

    sig = inspect.signature(obj)
    params: dict[str, Param] = {}
    var_kw = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind is not p.VAR_POSITIONAL:
            default = REQUIRED if p.default is p.empty else p.default
            params[p.name] = Param(p.name, Any, default)
    return TargetSignature(target, params, var_kw, getattr(obj, "tasks", None))
