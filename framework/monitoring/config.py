"""Checks of the `retraining` node across its keys (the schema, `framework.schema.RetrainingConfig`, checks
names and types). Imports nothing heavy: it runs with the other config checks, before any data is read."""

from __future__ import annotations

from omegaconf import DictConfig

from framework.checks import Problems, at_least, number_at, value_of
from framework.monitoring.strategies import OWN_KEYS

KINDS = ("ctr", "two_stage")  # task kinds whose recipe runs a replay (framework/monitoring/recipe.py)
CASES = {"ctr": "ad_click", "two_stage": "video_recommendation"}  # for messages
# What each kind's replay can do: the video case scores recommendations, not predicted clicks, so it has no
# per-row loss stream or feature / prediction distributions for the drift detectors to watch.
KIND_STRATEGIES = {
    "ctr": ("never", "scheduled", "performance", "drift"),
    "two_stage": ("never", "scheduled", "performance"),
}
KIND_METRICS = {"ctr": ("nce", "auroc"), "two_stage": ("recall",)}  # performance: what a window is scored by
REQUIRED = {"scheduled": ("every",), "performance": ("metric", "threshold"), "drift": ("detector", "threshold")}


def check(cfg: DictConfig, problems: Problems) -> None:
    node = cfg.get("retraining")
    if not isinstance(node, DictConfig):
        return
    kind = value_of(cfg.case, "task")
    if kind not in KINDS:
        problems.add(
            f"'retraining' applies to {', '.join(KINDS)} cases only ({', '.join(CASES.values())}); "
            f"case '{value_of(cfg.case, 'name')}' "
            f"is a '{kind}' task. Remove it (retraining=null)."
        )
        return
    at_least(
        node,
        "retraining",
        {"windows": 2, "initial_windows": 1, "label_delay": 0, "train_windows": 1, "epochs": 1},
        problems,
    )
    windows, initial = number_at(node, "windows"), number_at(node, "initial_windows")
    if windows is not None and initial is not None and initial >= windows:
        problems.add(
            f"'retraining.initial_windows' ({initial}) must be below 'retraining.windows' ({windows}): "
            f"the windows after the first training are the ones replayed."
        )
    delay = number_at(node, "label_delay")
    if None not in (windows, initial, delay) and delay >= windows - initial:
        problems.add(
            f"'retraining.label_delay' ({delay}) must be below the replayed windows ({windows} - {initial}): "
            f"no label would ever arrive."
        )
    holdout = number_at(node, "holdout")
    if holdout is not None and not 0 < holdout < 1:
        problems.add(f"'retraining.holdout' must be in (0, 1) (a fraction of the rows), got {holdout}.")
    drift_at = number_at(node, "drift_at")
    if drift_at is not None and None not in (windows, initial) and not initial <= drift_at < windows:
        problems.add(
            f"'retraining.drift_at' ({drift_at}) must name a replayed window, from initial_windows ({initial}) "
            f"to windows - 1 ({windows - 1}), or be null."
        )
    _check_strategy_keys(node, problems)
    _check_kind(node, str(kind), problems)
    rate = number_at(cfg, "dataset.negative_rate")
    if rate is not None and rate != 1:
        problems.add(f"'dataset.negative_rate' is {rate}: a replay trains on every row. Set dataset.negative_rate=1.0.")
    devices, strategy = value_of(cfg.trainer, "devices"), value_of(cfg.trainer, "strategy")
    if (isinstance(devices, int) and devices > 1) or "ddp" in str(strategy):
        problems.add("A replay trains on one device: use hardware=cpu or hardware=gpu with retraining=... .")


def _check_kind(node: DictConfig, kind: str, problems: Problems) -> None:
    """The strategy and the performance metric are ones this kind's replay has."""
    strategy, metric = value_of(node, "strategy"), value_of(node, "metric")
    allowed = KIND_STRATEGIES[kind]
    if isinstance(strategy, str) and strategy not in allowed:
        problems.add(
            f"Strategy '{strategy}' does not apply to a {kind} case ({CASES[kind]}): its replay has strategies "
            f"{', '.join(allowed)}"
            + (" (performance with metric=recall: retraining=recall_drop)." if kind == "two_stage" else ".")
        )
    if isinstance(metric, str) and metric not in KIND_METRICS[kind]:
        users = [k for k, names in KIND_METRICS.items() if metric in names]
        problems.add(
            f"'retraining.metric' {metric} applies to {', '.join(users)} cases; a {kind} case ({CASES[kind]}) scores "
            f"its windows by {' or '.join(KIND_METRICS[kind])}. Set retraining.metric={KIND_METRICS[kind][0]}"
            + (" (or retraining=recall_drop)." if kind == "two_stage" else ".")
        )


def _check_strategy_keys(node: DictConfig, problems: Problems) -> None:
    """Every key the strategy needs is set; a key only another strategy reads is an error."""
    strategy = value_of(node, "strategy")
    if not isinstance(strategy, str):
        return
    own = OWN_KEYS.get(strategy, ())
    for other, keys in OWN_KEYS.items():
        for key in keys:
            if key not in own and node.get(key) is not None:
                problems.add(
                    f"'retraining.{key}' applies to strategy '{other}' only; this run's strategy is '{strategy}'. "
                    f"Remove it (retraining.{key}=null)."
                )
    for key in REQUIRED.get(strategy, ()):
        if node.get(key) is None:
            problems.add(f"Strategy '{strategy}' needs 'retraining.{key}' (see conf/retraining/{strategy}.yaml).")
    detector, watch = node.get("detector"), node.get("watch")
    if strategy == "drift" and detector in ("psi", "ks") and watch is None:
        problems.add(
            "Strategy 'drift' with detector psi or ks needs 'retraining.watch': features, predictions or both."
        )
    if strategy == "drift" and detector in ("adwin", "page_hinkley") and watch is not None:
        problems.add(
            f"'retraining.watch' applies to detectors psi and ks; {detector} watches the loss stream. Remove it."
        )
    threshold = number_at(node, "threshold")
    if threshold is not None and threshold <= 0:
        problems.add(f"'retraining.threshold' must be positive, got {threshold}.")
    every = number_at(node, "every")
    if every is not None and every < 1:
        problems.add(f"'retraining.every' must be at least 1 (windows), got {every}.")
