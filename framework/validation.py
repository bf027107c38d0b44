"""Validation of the composed run config, with messages a user can act on.

`validate(cfg)` runs before any heavy import: unknown keys, wrong types, a model that does not fit the
case's task kind, `_target_` arguments the target does not take (read from source), the nodes of the
case's kind (checked by that kind's schema, see `framework.tasks.KINDS`) and nodes of other kinds (an
error: they would do nothing). `validate_targets(cfg)` runs once torch is imported and checks the
targets that live outside this package (torch optimizers, torchmetrics classes) the same way;
`check_data_fits_case` checks that the dataset gives what the kind reads. All raise `ConfigError`; the
entry point prints it and exits with code 2, before any data is read.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from types import ModuleType

from omegaconf import DictConfig, ListConfig, OmegaConf

from framework.checks import (
    Problems,
    at_least,
    check_dataclass,
    check_eval_suite,
    check_target,
    check_target_node,
    number_at,
    target_of,
    value_of,
)
from framework.config_dir import CONF_DIR
from framework.errors import ConfigError, choices_text, did_you_mean
from framework.hardware import on_gpu
from framework.monitoring import config as retraining_config
from framework.schema import DatasetConfig, RunConfig
from framework.signatures import read_signature
from framework.sweeps import config as sweep_config
from framework.tasks import KINDS, TaskKind, kind_of_node

COMMON_DATASET_KEYS = tuple(f.name for f in dataclasses.fields(DatasetConfig))
# Every dataset key a data module reads: the common ones and each kind's own (another kind's own keys are
# reported by check_data_fits_case, after the clearer data-kind check).
DATASET_KEYS = tuple(dict.fromkeys([*COMMON_DATASET_KEYS, *(k for kind in KINDS.values() for k in kind.dataset_keys)]))


def kind_config(kind: TaskKind) -> ModuleType | None:
    """The kind's config module (its schemas and checks), or None for a kind without own nodes."""
    return importlib.import_module(kind.config) if kind.config else None


def case_kind(cfg: DictConfig) -> TaskKind:
    return KINDS[str(cfg.case.task)]


def validate(cfg: DictConfig) -> None:
    """Fast structural validation (no torch import). Raises ConfigError listing every problem."""
    problems = Problems()
    for name in ("model", "dataset", "eval", "case"):
        if name not in cfg or cfg[name] is None:
            problems.add(f"No {name} is selected: pick one, e.g. {name}=<option> (see python run.py --help).")
    problems.raise_if_any()

    kind_name = value_of(cfg.case, "task")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        problems.add(
            f"'case.task' is {kind_name!r}, which is not a task kind.{did_you_mean(str(kind_name), KINDS)} "
            f"Task kinds: {choices_text(KINDS)}."
        )
        problems.raise_if_any()
    common = [str(k) for k in cfg if k != "hydra" and kind_of_node(str(k)) is None]
    check_dataclass(OmegaConf.masked_copy(cfg, common), RunConfig, "", problems, extra_allowed=kind.nodes)
    _check_foreign_nodes(cfg, kind_name, problems)

    check_target_node(cfg.optim.optimizer, "optim.optimizer", problems)
    _check_ranges(cfg, problems)
    if cfg.optim.scheduler is not None:
        check_target_node(cfg.optim.scheduler, "optim.scheduler", problems, extra_allowed=("interval",))
    _check_dataset(cfg.dataset, kind, problems)
    sweep_config.check(cfg, problems)
    retraining_config.check(cfg, problems)
    _check_model(cfg, kind_name, problems)
    check_eval_suite(cfg.eval, problems)
    module = kind_config(kind)
    if module is not None:
        module.check(cfg, problems)
    problems.raise_if_any()


# Values with a lower bound, wherever they appear (a `None` or an interpolation is skipped). Ranges the
# schema's type cannot say: a negative learning rate is a float, but no optimizer can use it.
POSITIVE = {"optim.optimizer.lr": "a learning rate"}
AT_LEAST = {
    "seed": 0,
    "dataset.max_rows": 1,
    "model.embedding_dim": 1,
    "optim.optimizer.momentum": 0,
    "checkpoint.save_top_k": -1,
    "early_stopping.patience": 0,
    "case.serving.latency_requests": 1,
    "case.design.latency_budget_ms": 0,
}
BELOW_ONE = ("model.dropout",)  # probabilities of dropping a unit: 0 <= p < 1


def _check_ranges(cfg: DictConfig, problems: Problems) -> None:
    for key, what in POSITIVE.items():
        if (value := number_at(cfg, key)) is not None and value <= 0:
            problems.add(f"'{key}' must be positive ({what}), got {value}.")
    at_least(cfg, "", AT_LEAST, problems)
    for key in BELOW_ONE:
        if (value := number_at(cfg, key)) is not None and not 0 <= value < 1:
            problems.add(f"'{key}' must be in [0, 1), got {value}.")
    epochs = number_at(cfg, "trainer.max_epochs")
    if epochs is not None and epochs < 1 and epochs != -1:
        problems.add(f"'trainer.max_epochs' must be at least 1 (or -1: until early stopping), got {epochs}.")


def check_hardware(cfg: DictConfig) -> None:
    """A GPU target needs a GPU torch can use: say so in one line (Lightning's own error is a long
    traceback). Imports torch: called once the heavy imports have started, before anything is written."""
    if not on_gpu(cfg):
        return
    accelerator = str(cfg.trainer.accelerator)
    import torch

    count = torch.cuda.device_count()
    mps = accelerator == "gpu" and torch.backends.mps.is_available()
    if count == 0 and not mps:
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(
            f"trainer.accelerator={accelerator} (hardware=gpu, multi_gpu or multi_node) needs a GPU, but torch "
            f"{torch.__version__} ({build}) sees none. Use hardware=cpu or hardware=ddp_cpu, or install a CUDA "
            f"build of torch (README: Hardware)."
        )
    devices = cfg.trainer.devices
    if isinstance(devices, int) and devices > max(count, 1):
        raise ConfigError(f"trainer.devices={devices}, but this machine has {count} GPU(s): use at most {count}.")


def _check_foreign_nodes(cfg: DictConfig, kind_name: str, problems: Problems) -> None:
    """A node that another kind owns would do nothing here: say whose it is."""
    for key in cfg:
        owner = kind_of_node(str(key))
        shared = str(key) in KINDS[kind_name].nodes  # a node two kinds read (index: two_stage, contrastive_retrieval)
        if owner is not None and owner != kind_name and not shared and cfg.get(key) is not None:
            problems.add(
                f"'{key}' applies to {owner} cases only; case '{value_of(cfg.case, 'name')}' is a '{kind_name}' "
                f"task. Remove it (e.g. {key}=null)."
            )


def _check_dataset(node: DictConfig, kind: TaskKind, problems: Problems) -> None:
    """Common keys, the kind's own dataset keys, the source's parameters; split and sizes in range.
    (Another kind's dataset keys are reported by `check_data_fits_case`, after the clearer data-kind check.)"""
    target = target_of(node, "dataset", problems)
    if target is None:
        return
    check_target(node, "dataset", problems, read_signature(target), extra_allowed=DATASET_KEYS)
    present = [k for k in COMMON_DATASET_KEYS if k in node]
    check_dataclass(OmegaConf.masked_copy(node, present), DatasetConfig, "dataset", problems)
    module = kind_config(kind)
    if module is not None and kind.dataset_keys:
        own = [k for k in kind.dataset_keys if k in node]
        check_dataclass(OmegaConf.masked_copy(node, own), module.DATASET_SCHEMA, "dataset", problems)
    split = value_of(node, "split")
    numbers = isinstance(split, ListConfig) and all(isinstance(s, int | float) for s in split)
    if numbers and (len(split) != 3 or any(s <= 0 for s in split) or abs(sum(split) - 1.0) > 1e-6):
        problems.add(
            f"'dataset.split' must be three positive fractions [train, valid, test] summing to 1 "
            f"(validation picks the best epoch, test reports it), got {list(split)}. "
            f"Example: dataset.split=[0.8,0.1,0.1]"
        )
    for key in ("batch_size", "eval_batch_size"):
        value = value_of(node, key)
        if isinstance(value, int) and value <= 0:
            problems.add(f"'dataset.{key}' must be a positive integer, got {value}.")
    features = value_of(node, "features")
    if isinstance(features, DictConfig):
        buckets = value_of(features, "hash_buckets")
        if isinstance(buckets, int) and buckets < 2:
            problems.add(
                f"'dataset.features.hash_buckets' must be at least 2 (or null for a vocabulary), got {buckets}."
            )
        min_count = value_of(features, "min_count")
        if isinstance(min_count, int) and min_count < 1:
            problems.add(f"'dataset.features.min_count' must be at least 1, got {min_count}.")


def _check_model(cfg: DictConfig, kind_name: str, problems: Problems) -> None:
    target = target_of(cfg.model, "model", problems)
    if target is None:
        return
    sig = read_signature(target)
    check_target(cfg.model, "model", problems, sig)
    if sig is not None and sig.tasks is not None and kind_name not in sig.tasks:
        fitting = models_for_kind(kind_name)
        suggestion = f"use {' or '.join(fitting)}" if len(fitting) <= 3 else f"use one of {', '.join(fitting)}"
        problems.add(
            f"Model {target.rsplit('.', 1)[-1]} does not fit case '{value_of(cfg.case, 'name')}': the case is a "
            f"'{kind_name}' task and this model serves {', '.join(sig.tasks)}: {suggestion} "
            f"(e.g. model={fitting[0] if fitting else '...'})."
        )


def models_for_kind(kind_name: str) -> list[str]:
    """The conf/model options whose class serves a task kind (read from source: no import)."""
    fitting = []
    for path in sorted((CONF_DIR / "model").glob("*.yaml")):
        sig = read_signature(str(OmegaConf.load(path).get("_target_", "")))
        if sig is not None and sig.tasks is not None and kind_name in sig.tasks:
            fitting.append(path.stem)
    return fitting


def validate_targets(cfg: DictConfig) -> None:
    """Import-time check of every `_target_` node (after torch is imported, before data is read)."""
    from hydra.utils import get_object

    from framework.signatures import signature_from_object

    nodes: list[tuple[str, DictConfig, tuple]] = [
        ("optim.optimizer", cfg.optim.optimizer, ()),
        ("model", cfg.model, ()),
        ("dataset", cfg.dataset, DATASET_KEYS),
    ]
    if cfg.optim.scheduler is not None:
        nodes.append(("optim.scheduler", cfg.optim.scheduler, ("interval",)))
    nodes += [(f"eval.metrics.{k}", v, ()) for k, v in cfg.eval.metrics.items()]
    module = kind_config(case_kind(cfg))
    if module is not None:
        nodes += [(path, node, ()) for path, node in module.extra_target_nodes(cfg)]
    problems = Problems()
    for path, node, extra in nodes:
        target = str(node._target_)
        try:
            obj = get_object(target)
        except Exception as exc:
            problems.add(f"'{path}._target_' is '{target}', which cannot be imported ({exc}).")
            continue
        check_target(node, path, problems, signature_from_object(target, obj), extra_allowed=extra)
    problems.raise_if_any()


def _source_kind(target: str) -> str | None:
    """The class name a dataset source returns (its return annotation), e.g. RawTable."""
    from hydra.utils import get_object

    try:
        returns = typing.get_type_hints(get_object(target)).get("return")
    except Exception:
        return None
    return getattr(returns, "__name__", None)


def check_data_fits_case(cfg: DictConfig) -> None:
    """Import-time: the dataset gives what the case's kind reads, and no other kind's dataset keys are
    set. Raises ConfigError before any data is read."""
    name, kind = str(cfg.case.task), case_kind(cfg)
    gives = _source_kind(str(cfg.dataset._target_))
    if gives is not None and gives != kind.reads:
        what = next((k.reads_what for k in KINDS.values() if k.reads == gives), gives)
        fitting = []
        for path in sorted((CONF_DIR / "dataset").glob("*.yaml")):
            target = OmegaConf.load(path).get("_target_")
            if target and _source_kind(str(target)) == kind.reads:
                fitting.append(path.stem)
        raise ConfigError(
            f"Dataset '{cfg.dataset.name}' gives {what}, but case '{cfg.case.name}' is a '{name}' task, which "
            f"reads {kind.reads_what}. Datasets for '{name}': {choices_text(fitting)}."
        )
    for other_name, other in KINDS.items():
        for key in other.dataset_keys if other is not kind else ():
            if key in kind.dataset_keys:  # a key name two kinds share (split_strategy) is this kind's own too
                continue
            if cfg.dataset.get(key) is not None:
                raise ConfigError(
                    f"'dataset.{key}' applies to {other_name} cases ({other.reads_what}) only; "
                    f"'{cfg.dataset.name}' is a dataset of a '{name}' case. Remove it."
                )
