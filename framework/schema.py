"""Schemas of the config nodes every run has (dataclasses only; `framework.validation` checks a config
against them). The sweep node's schema lives in `framework.sweeps.config`, each task kind's own nodes in
its package (`framework/tasks/<kind>/config.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from framework.sweeps.config import SweepConfig


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
    list_size: int = 10  # items one request returns (link_prediction: the suggestions a user is shown)


@dataclass
class ReportConfig:
    """What comparison reports show for this case besides the eval suite's metrics (scripts/compare.py)."""

    metrics: list[str] = field(default_factory=list)  # run.json metric names (or patterns with *)
    costs: list[str] = field(default_factory=list)  # cost columns, e.g. cost/p99_ms


@dataclass
class CaseConfig:
    name: str = ""
    task: str = "ctr"  # a kind of framework.tasks.KINDS
    design: DesignCard = field(default_factory=DesignCard)
    serving: ServingConfig = field(default_factory=ServingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


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
    debug_rows: int | None = None  # the row cap debug=fast uses (None: 4000); images name fewer
    # A kind may add its own dataset keys (e.g. two_stage: split_strategy, positive_threshold).


@dataclass
class EvalConfig:
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> `_target_` node
    monitor: str = ""  # the metric checkpoints and sweeps optimise; named once, here
    mode: Literal["min", "max"] = "max"


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
class RetrainingConfig:
    """A replay of the time-ordered log in windows with one retraining strategy (conf/retraining/,
    framework/monitoring). Keys of one strategy only (every; metric; detector, watch; threshold) are null for
    the others (framework/monitoring/config.py checks that, with the ranges)."""

    strategy: Literal["never", "scheduled", "performance", "drift"] = "never"
    windows: int = 14  # equal, time-ordered windows of the log (14 days of click_log_synthetic: a day each)
    initial_windows: int = 3  # the first model trains on these
    label_delay: int = 0  # windows before a window's labels arrive (0: right after it is predicted)
    mode: Literal["from_scratch", "warm_start"] = "from_scratch"
    train_windows: int = 3  # a retrain trains on the newest labelled windows, this many (from_scratch: a new encoder)
    epochs: int = 3  # at most, per training: the best epoch on the model's hold-out is kept (early_stopping applies)
    holdout: float = 0.1  # seeded fraction of the log's rows no model trains on: each model's reference quality
    # (two_stage: of the positive pairs; it picks each model's best epoch, its reference is its first served window)
    drift_at: int | None = None  # the first drifted window (a planted drift): detection delay, false alarms
    every: int | None = None  # scheduled: retrain after this many windows served
    metric: Literal["nce", "auroc", "recall"] | None = None  # performance: the metric compared with the reference
    # (ctr: nce, auroc; two_stage: recall = stage-1 recall@K, K = case.serving.candidates_per_request)
    threshold: float | None = None  # performance: relative drop; drift: PSI / KS D level, ADWIN delta, PH lambda
    detector: Literal["psi", "ks", "adwin", "page_hinkley"] | None = None  # drift
    watch: Literal["features", "predictions", "both"] | None = None  # drift with psi / ks: what is compared
    followup: bool | None = None  # performance, drift: after an alarm, retrain once more when the newest
    # train_windows labelled windows all follow it (the first retrain after a change still learns from before it)


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
    retraining: RetrainingConfig | None = None  # conf/retraining/: replay the log in windows (ctr, two_stage cases)
    # Each task kind's own nodes (e.g. two_stage: retrieval, index, ranker, ranking) are checked by that
    # kind's schema (framework.tasks.KINDS); a node of another kind is an error.
