"""Schemas of the composed run config, and their validation with messages a user can act on.

`validate(cfg)` runs before any heavy import: it rejects unknown keys, wrong types, a model that does
not fit the case's task, and `_target_` arguments that the target does not take (read from source by
`framework.signatures`). `validate_targets(cfg)` runs once torch is imported and checks the targets
that live outside this package (torch optimizers, torchmetrics classes) the same way. Both raise
`ConfigError`; the entry point prints it and exits with code 2, before any data is read.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from omegaconf import DictConfig, ListConfig, OmegaConf

from framework.errors import ConfigError, choices_text, did_you_mean
from framework.signatures import REQUIRED, TargetSignature, read_signature

TASKS = ("ctr", "retrieval")


@dataclass
class TrainerConfig:
    """Keyword arguments of `lightning.pytorch.Trainer` that a config may set (a test checks the names)."""

    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    sync_batchnorm: bool = False
    max_epochs: int = 3
    min_epochs: int | None = None
    max_steps: int = -1
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    limit_test_batches: int | float | None = None
    overfit_batches: int | float = 0.0
    val_check_interval: int | float | None = None
    check_val_every_n_epoch: int | None = 1
    num_sanity_val_steps: int = 0
    log_every_n_steps: int = 50
    deterministic: bool | Literal["warn"] = True
    benchmark: bool | None = None
    enable_progress_bar: bool = True
    profiler: str | None = None


@dataclass
class OptimConfig:
    optimizer: dict[str, Any] = field(default_factory=dict)  # a `_target_` node
    scheduler: dict[str, Any] | None = None  # a `_target_` node (torch.optim.lr_scheduler.*) or null
    # Sparse embedding gradients (only touched rows updated). null = auto: on, except under DDP on GPUs
    # (NCCL cannot all-reduce sparse tensors).
    sparse_embeddings: bool | None = None


@dataclass
class CheckpointConfig:
    save_top_k: int = 1
    every_n_train_steps: int | None = None  # extra mid-epoch checkpoints for long epochs


@dataclass
class EarlyStoppingConfig:
    patience: int = 1  # validations without improvement of the monitored metric before training stops
    min_delta: float = 0.0


@dataclass
class DesignCard:
    """The case's answers to the design framework's questions; printed and saved with every run."""

    business_objective: str = ""
    ml_framing: str = ""
    label: str = ""
    features: list[str] = field(default_factory=list)
    online_metrics: list[str] = field(default_factory=list)
    serving: str = ""
    latency_budget_ms: float = 0.0
    monitoring: str = ""
    retraining: str = ""


@dataclass
class ServingConfig:
    candidates_per_request: int = 100  # items scored per request when measuring serving latency
    latency_requests: int = 200  # timed requests (after warm-up) for p50/p99


@dataclass
class CaseConfig:
    name: str = ""
    task: Literal["ctr", "retrieval"] = "ctr"
    design: DesignCard = field(default_factory=DesignCard)
    serving: ServingConfig = field(default_factory=ServingConfig)


@dataclass
class FeaturesConfig:
    min_count: int = 1  # categories seen fewer times in train go to the out-of-vocabulary bucket
    hash_buckets: int | None = None  # hashing trick per field instead of a vocabulary
    numeric_transform: Literal["log1p", "none"] = "log1p"
    standardize: bool = True
    missing_indicators: bool = False


@dataclass
class DatasetConfig:
    """Keys every dataset has; the rest must be parameters of the dataset's `_target_` source."""

    name: str = ""
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    batch_size: int = 4096
    eval_batch_size: int = 16384
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    cache: bool = True
    # Interaction datasets (retrieval cases) only; null elsewhere (framework.data.splits explains them).
    split_strategy: Literal["random", "leave_last_out", "temporal"] | None = None
    positive_threshold: float | None = None  # interactions with strength >= this are positives; null = all


@dataclass
class EvalConfig:
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> `_target_` node
    monitor: str = ""  # the metric checkpoints and sweeps optimise; named once, here
    mode: Literal["min", "max"] = "max"


@dataclass
class RetrievalStageConfig:
    """Stage 1 of a retrieval case: how the candidate generator trains, and its own eval suite."""

    eval: EvalConfig = field(default_factory=EvalConfig)  # full-ranking metrics (conf/eval/retrieval.yaml)
    loss: Literal["softmax", "bpr"] = "softmax"
    negatives: Literal["in_batch", "uniform", "popularity"] = "in_batch"
    num_negatives: int = 256  # softmax with uniform / popularity negatives: shared negatives per batch
    logq_correction: bool = True  # subtract log(sampling probability) from the logits (softmax)
    temperature: float = 0.1  # softmax logits = score / temperature
    embedding_l2: float = 0.0  # L2 penalty on the batch's user and item vectors


@dataclass
class RankingStageConfig:
    """Stage 2 of a retrieval case: how the ranker trains on stage 1's validation candidates."""

    max_epochs: int = 5
    batch_size: int = 2048
    lr: float = 0.001
    val_fraction: float = 0.2  # share of the users with validation items kept to pick the ranker's best epoch


@dataclass
class LoggerConfig:
    kind: Literal["wandb", "csv", "none"] = "wandb"
    project: str = "mlsd"
    entity: str | None = None
    mode: Literal["offline", "online"] = "offline"
    group: str | None = None  # W&B group; null = the case name (a sweep sets its study name)


@dataclass
class PathsConfig:
    output_root: str = "outputs"
    cache_dir: str = "~/.cache/mlsd"


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
    """An Optuna study over a search space (conf/sweep_defaults.yaml explains each key; framework.sweeps)."""

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


@dataclass
class RunConfig:
    seed: int = 42
    resume: bool = False
    tags: list[str] = field(default_factory=list)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig | None = None
    case: CaseConfig = field(default_factory=CaseConfig)
    dataset: dict[str, Any] = field(default_factory=dict)  # DatasetConfig + source params
    model: dict[str, Any] = field(default_factory=dict)  # `_target_` node
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    sweep: SweepConfig | None = None  # conf/sweep/: an Optuna study (python run.py -m sweep=...)
    # Retrieval cases (two stages): stage-1 training, the ANN index, the ranker and its training.
    retrieval: RetrievalStageConfig | None = None
    index: dict[str, Any] | None = None  # `_target_` node (conf/index)
    ranker: dict[str, Any] | None = None  # `_target_` node (conf/ranker); null = serve stage 1's order
    ranking: RankingStageConfig | None = None


# Constructor parameters filled by the pipeline, never by config: a model's feature spec, an optimizer's
# parameters, a learning-rate scheduler's optimizer.
INJECTED = {"feature_spec", "params", "optimizer"}

_UNRESOLVED = object()
_SEQUENCES = (list, tuple, collections.abc.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping)


def _get(node: DictConfig, key: str) -> Any:
    """A value with interpolations resolved where possible (hydra: resolvers need a running app)."""
    try:
        value = node[key]
    except Exception:
        return _UNRESOLVED
    if isinstance(value, DictConfig | ListConfig):
        return value
    return value


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any value"
    if tp is type(None) or tp is None:
        return "null"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in _SEQUENCES or tp in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return f"a list of {_type_name(args[0])}s" if args else "a list"
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
        self.items.append(f"'{full}' must be {_type_name(tp)}, got {shown!r}.")

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError("\n".join(f"• {m}" for m in self.items))


def check_dataclass(node: DictConfig, schema: type, path: str, problems: Problems) -> None:
    """Unknown keys and types of `node` against a dataclass schema, recursively."""
    hints = typing.get_type_hints(schema)
    allowed = [f.name for f in dataclasses.fields(schema)]
    for key in node:
        key = str(key)
        full = f"{path}.{key}" if path else key
        if key not in hints:
            problems.unknown_key(path, key, allowed)
            continue
        value, tp = _get(node, key), hints[key]
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
        value = _get(node, key)
        if not matches(value, sig.params[key].annotation):
            problems.wrong_type(f"{path}.{key}", value, sig.params[key].annotation)
    for p in sig.params.values():
        if p.default is REQUIRED and p.name not in INJECTED and p.name not in node.keys():  # noqa: SIM118 - `in node` is False for ??? values
            problems.add(f"'{path}.{p.name}' is required by {sig.target}: set it, e.g. {path}.{p.name}=...")
    missing = [str(k) for k in node if not str(k).startswith("_") and OmegaConf.is_missing(node, str(k))]
    for key in missing:
        problems.add(f"'{path}.{key}' must be set (it is ??? in the config), e.g. {path}.{key}=...")


def _target_of(node: Any, path: str, problems: Problems) -> str | None:
    if not isinstance(node, DictConfig) or "_target_" not in node:
        problems.add(f"'{path}' must be a mapping with a _target_ (the class or function to build).")
        return None
    return str(node._target_)


def check_target_node(node: Any, path: str, problems: Problems, extra_allowed: tuple = ()) -> None:
    target = _target_of(node, path, problems)
    if target is not None:
        check_target(node, path, problems, read_signature(target), extra_allowed)


def validate(cfg: DictConfig) -> None:
    """Fast structural validation (no torch import). Raises ConfigError listing every problem."""
    problems = Problems()
    top = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    check_dataclass(top, RunConfig, "", problems)

    for name in ("model", "dataset", "eval", "case"):
        if name not in cfg or cfg[name] is None:
            problems.add(f"No {name} is selected: pick one, e.g. {name}=<option> (see python run.py --help).")
    problems.raise_if_any()

    check_target_node(cfg.optim.optimizer, "optim.optimizer", problems)
    if cfg.optim.scheduler is not None:
        check_target_node(cfg.optim.scheduler, "optim.scheduler", problems, extra_allowed=("interval",))
    _check_dataset(cfg.dataset, problems)
    _check_sweep(cfg, problems)
    _check_model(cfg, problems)
    _check_eval(cfg.eval, problems)
    _check_stages(cfg, problems)
    problems.raise_if_any()


def _check_sweep(cfg: DictConfig, problems: Problems) -> None:
    """The search space's syntax, the sampler's needs, settings' ranges; trials run in one process."""
    sweep = cfg.get("sweep")
    if not isinstance(sweep, DictConfig):
        return
    from framework.sweeps.space import SpaceError, grid_space, ordered, parse_param

    params = _get(sweep, "params")
    parsed = []
    if isinstance(params, DictConfig):
        for name in params:
            try:
                parsed.append(parse_param(str(name), OmegaConf.to_container(params, resolve=True)[name]))
            except SpaceError as exc:
                problems.add(f"sweep.params: {exc}")
        try:
            parsed = ordered(parsed)
            if isinstance(sweep.get("sampler"), DictConfig) and _get(sweep.sampler, "name") == "grid":
                grid_space(parsed)
        except SpaceError as exc:
            problems.add(f"sweep.params: {exc}")
    minimum = {"n_trials": 1, "heartbeat_interval": 1, "grace_period": 1, "db_retries": 0, "top_k": 1}
    minimum |= {"pruner.n_startup_trials": 0, "pruner.n_warmup_steps": 0, "pruner.min_resource": 1}
    minimum |= {"pruner.reduction_factor": 2, "pruner.max_resource": 1, "sampler.n_startup_trials": 0}
    for key, low in minimum.items():
        value = OmegaConf.select(sweep, key, default=None, throw_on_missing=False)
        if isinstance(value, int) and not isinstance(value, bool) and value < low:
            problems.add(f"'sweep.{key}' must be at least {low}, got {value}.")
    backoff = _get(sweep, "db_backoff_s")
    if isinstance(backoff, int | float) and backoff <= 0:
        problems.add(f"'sweep.db_backoff_s' must be positive, got {backoff}.")
    storage = _get(sweep, "storage")
    if isinstance(storage, str) and "://" not in storage:
        problems.add(
            f"'sweep.storage' must be a database URL such as postgresql://user@host:5432/optuna or "
            f"sqlite:///path/study.db (null: SQLite under sweep.dir), got {storage!r}."
        )
    devices, nodes, strategy = (_get(cfg.trainer, k) for k in ("devices", "num_nodes", "strategy"))
    several = any(isinstance(n, int) and n > 1 for n in (devices, nodes)) or "ddp" in str(strategy)
    if several:
        problems.add(
            "A sweep runs each trial in the sweeper's own process (its pruner stops training from inside), so "
            "trials must train in one process: use hardware=cpu or hardware=gpu, and run several sweep workers "
            "on one study (sweep.storage=postgresql://...) for parallelism."
        )


def _check_dataset(node: DictConfig, problems: Problems) -> None:
    target = _target_of(node, "dataset", problems)
    if target is None:
        return
    common = [f.name for f in dataclasses.fields(DatasetConfig)]
    sig = read_signature(target)
    check_target(node, "dataset", problems, sig, extra_allowed=tuple(common))
    check_dataclass(OmegaConf.masked_copy(node, [k for k in common if k in node]), DatasetConfig, "dataset", problems)
    split = _get(node, "split")
    numbers = isinstance(split, ListConfig) and all(isinstance(s, int | float) for s in split)
    if numbers and (len(split) != 3 or any(s <= 0 for s in split) or abs(sum(split) - 1.0) > 1e-6):
        problems.add(
            f"'dataset.split' must be three positive fractions [train, valid, test] summing to 1 "
            f"(validation picks the best epoch, test reports it), got {list(split)}. "
            f"Example: dataset.split=[0.8,0.1,0.1]"
        )
    for key in ("batch_size", "eval_batch_size"):
        value = _get(node, key)
        if isinstance(value, int) and value <= 0:
            problems.add(f"'dataset.{key}' must be a positive integer, got {value}.")
    features = _get(node, "features")
    if isinstance(features, DictConfig):
        buckets = _get(features, "hash_buckets")
        if isinstance(buckets, int) and buckets < 2:
            problems.add(
                f"'dataset.features.hash_buckets' must be at least 2 (or null for a vocabulary), got {buckets}."
            )
        min_count = _get(features, "min_count")
        if isinstance(min_count, int) and min_count < 1:
            problems.add(f"'dataset.features.min_count' must be at least 1, got {min_count}.")


def _check_model(cfg: DictConfig, problems: Problems) -> None:
    target = _target_of(cfg.model, "model", problems)
    if target is None:
        return
    sig = read_signature(target)
    check_target(cfg.model, "model", problems, sig)
    task = _get(cfg.case, "task")
    if sig is not None and sig.tasks is not None and task not in sig.tasks:
        problems.add(
            f"Model {target.rsplit('.', 1)[-1]} does not fit case '{_get(cfg.case, 'name')}': the case is a "
            f"'{task}' task and this model serves {', '.join(sig.tasks)}. Pick a model made for '{task}' "
            f'(models whose class declares tasks = ("{task}",); see python run.py --help).'
        )


def _check_eval(node: DictConfig, problems: Problems, path: str = "eval") -> None:
    metrics = _get(node, "metrics")
    if not isinstance(metrics, DictConfig) or len(metrics) == 0:
        problems.add(f"'{path}.metrics' must name at least one metric.")
        return
    for name in metrics:
        check_target_node(metrics[name], f"{path}.metrics.{name}", problems)
    monitor = _get(node, "monitor")
    if isinstance(monitor, str) and monitor not in metrics:
        problems.add(
            f"'{path}.monitor' is '{monitor}', which is not a metric of this eval suite."
            f"{did_you_mean(monitor, [str(m) for m in metrics])} Metrics: {choices_text(str(m) for m in metrics)}."
        )
    elif isinstance(monitor, str) and isinstance(metrics[monitor], DictConfig) and "_target_" in metrics[monitor]:
        sig = read_signature(str(metrics[monitor]._target_))
        higher = sig.attributes.get("higher_is_better") if sig is not None else None
        if sig is not None and higher is None and sig.source_file:  # inherited from a base class of the module
            higher = _inherited_attribute(sig, "higher_is_better")
        if isinstance(higher, bool) and higher != (_get(node, "mode") == "max"):
            problems.add(
                f"'{path}.mode' is '{_get(node, 'mode')}', but the monitored metric '{monitor}' is better when "
                f"{'higher' if higher else 'lower'}: set {path}.mode={'max' if higher else 'min'}."
            )


def _inherited_attribute(sig: TargetSignature, name: str) -> Any:
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


RETRIEVAL_ONLY = ("retrieval", "index", "ranker", "ranking")


def _check_stages(cfg: DictConfig, problems: Problems) -> None:
    """The two-stage nodes: required by retrieval cases, an error elsewhere (they would do nothing)."""
    task = _get(cfg.case, "task")
    present = [k for k in RETRIEVAL_ONLY if cfg.get(k) is not None]
    if task != "retrieval":
        for key in present:
            problems.add(
                f"'{key}' applies to retrieval cases only; case '{_get(cfg.case, 'name')}' is a '{task}' task. "
                f"Remove it (e.g. {key}=null)."
            )
        return
    for key in ("retrieval", "index"):
        if key not in present:
            problems.add(f"Case '{_get(cfg.case, 'name')}' is a retrieval case and needs '{key}' (see conf/case/).")
    if "retrieval" in present:
        if isinstance(_get(cfg.retrieval, "eval"), DictConfig):
            _check_eval(cfg.retrieval.eval, problems, "retrieval.eval")
        negatives, temperature = _get(cfg.retrieval, "num_negatives"), _get(cfg.retrieval, "temperature")
        if isinstance(negatives, int) and negatives < 1:
            problems.add(f"'retrieval.num_negatives' must be a positive integer, got {negatives}.")
        if isinstance(temperature, int | float) and temperature <= 0:
            problems.add(f"'retrieval.temperature' must be positive, got {temperature}.")
    if "index" in present:
        check_target_node(cfg.index, "index", problems)
    if "ranker" in present:
        target = _target_of(cfg.ranker, "ranker", problems)
        sig = read_signature(target) if target else None
        check_target(cfg.ranker, "ranker", problems, sig)
        if sig is not None and sig.tasks is not None and "ctr" not in sig.tasks:
            problems.add(
                f"'ranker' is {target.rsplit('.', 1)[-1]}, which is not a pointwise scoring model: a ranker scores "
                f'(user, candidate) rows like a CTR model (its class declares tasks = ("ctr", ...)).'
            )
        if "ranking" not in present:
            problems.add("A ranker needs the 'ranking' node (its training settings; see conf/case/).")
        else:
            fraction = _get(cfg.ranking, "val_fraction")
            if isinstance(fraction, int | float) and not 0 < fraction < 1:
                problems.add(f"'ranking.val_fraction' must be between 0 and 1, got {fraction}.")
    _check_list_lengths(cfg, problems)


def _check_list_lengths(cfg: DictConfig, problems: Problems) -> None:
    """The final lists hold K = case.serving.candidates_per_request items: no final metric may need more."""
    k = _get(cfg.case.serving, "candidates_per_request")
    metrics = _get(cfg.eval, "metrics")
    if not isinstance(k, int) or not isinstance(metrics, DictConfig):
        return
    if k < 1:
        problems.add(f"'case.serving.candidates_per_request' must be a positive integer, got {k}.")
        return
    for name in metrics:
        node = metrics[name]
        depth = _get(node, "k") if isinstance(node, DictConfig) else None
        if isinstance(depth, int) and depth > k:
            problems.add(
                f"'eval.metrics.{name}' needs lists of {depth} items, but stage 1 passes only "
                f"case.serving.candidates_per_request={k} candidates to stage 2. Raise it to at least {depth}."
            )


def validate_targets(cfg: DictConfig) -> None:
    """Import-time check of every `_target_` node (after torch is imported, before data is read)."""
    from hydra.utils import get_object

    from framework.signatures import signature_from_object

    problems = Problems()
    nodes: list[tuple[str, DictConfig, tuple]] = [
        ("optim.optimizer", cfg.optim.optimizer, ()),
        ("model", cfg.model, ()),
        ("dataset", cfg.dataset, tuple(f.name for f in dataclasses.fields(DatasetConfig))),
    ]
    if cfg.optim.scheduler is not None:
        nodes.append(("optim.scheduler", cfg.optim.scheduler, ("interval",)))
    nodes += [(f"eval.metrics.{k}", v, ()) for k, v in cfg.eval.metrics.items()]
    nodes += [(key, cfg[key], ()) for key in ("index", "ranker") if cfg.get(key) is not None]
    if cfg.get("retrieval") is not None:
        nodes += [(f"retrieval.eval.metrics.{k}", v, ()) for k, v in cfg.retrieval.eval.metrics.items()]
    for path, node, extra in nodes:
        target = str(node._target_)
        try:
            obj = get_object(target)
        except Exception as exc:
            problems.add(f"'{path}._target_' is '{target}', which cannot be imported ({exc}).")
            continue
        sig = signature_from_object(target, obj)
        check_target(node, path, problems, sig, extra_allowed=extra)
    problems.raise_if_any()


# What each task reads from its dataset's source: the return type of the source function.
DATA_KINDS = {"ctr": ("RawTable", "rows of a click log"), "retrieval": ("InteractionTable", "user-item interactions")}


def _source_kind(target: str) -> str | None:
    from hydra.utils import get_object

    try:
        returns = typing.get_type_hints(get_object(target)).get("return")
    except Exception:
        return None
    return getattr(returns, "__name__", None)


def check_data_fits_case(cfg: DictConfig) -> None:
    """Import-time: the dataset gives what the case's task reads (a click log, or interactions), and
    interaction-only dataset keys are not set for a click log. Raises ConfigError before any data is read."""
    from framework.cli import CONF_DIR

    task = str(cfg.case.task)
    expected, what = DATA_KINDS[task]
    kind = _source_kind(str(cfg.dataset._target_))
    if kind is not None and kind != expected:
        gives = next((w for k, w in DATA_KINDS.values() if k == kind), kind)
        fitting = []
        for path in sorted((CONF_DIR / "dataset").glob("*.yaml")):
            target = OmegaConf.load(path).get("_target_")
            if target and _source_kind(str(target)) == expected:
                fitting.append(path.stem)
        raise ConfigError(
            f"Dataset '{cfg.dataset.name}' gives {gives}, but case '{cfg.case.name}' is a '{task}' task, which "
            f"reads {what}. Datasets for '{task}': {choices_text(fitting)}."
        )
    if task != "retrieval":
        for key in ("split_strategy", "positive_threshold"):
            if cfg.dataset.get(key) is not None:
                raise ConfigError(
                    f"'dataset.{key}' applies to interaction datasets (retrieval cases) only; "
                    f"'{cfg.dataset.name}' is split in time order. Remove it."
                )
