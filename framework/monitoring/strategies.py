"""Retraining strategies: after each window is predicted, `decide` says whether to retrain now.

A strategy sees only what production would see at that moment: how many windows the deployed model has
served, the quality of the newest window whose labels have arrived (after `label_delay` windows; only
windows the deployed model predicted), its reference quality (on a hold-out of its own training windows),
drift scores of the newest window's features and predictions, and whether the loss-stream detector fired.

- never        keep the first model
- scheduled    every `every` windows
- performance  the newest scored window's NCE (or AUC) is worse than the reference by more than
               `threshold`, relatively: NCE > ref x (1 + threshold), AUC < ref x (1 - threshold)
- drift        PSI or KS of features / predictions above `threshold`, or river's ADWIN / Page-Hinkley
               firing on the loss stream (`threshold` is then the detector's delta or lambda)
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from framework.monitoring.detectors import DriftScores

STRATEGIES = ("never", "scheduled", "performance", "drift")
# The keys only one strategy reads (a key another strategy would ignore is a config error).
OWN_KEYS = {
    "scheduled": ("every",),
    "performance": ("metric", "threshold"),
    "drift": ("detector", "watch", "threshold"),
}


@dataclass
class Evidence:
    window: int  # the window just predicted
    served: int  # windows the deployed model has predicted, this one included
    scored: dict[str, float] | None  # eval-suite metrics of the newest labelled window it predicted
    reference: dict[str, float]  # the same metrics on the deployed model's hold-out
    drift: DriftScores | None  # PSI / KS of this window against the deployed model's training data
    stream_alarm: bool  # the loss-stream detector (ADWIN / Page-Hinkley) fired on the newly labelled rows


@dataclass
class Decision:
    retrain: bool
    reason: str = ""


def decide(cfg: DictConfig, ev: Evidence) -> Decision:
    """The strategy `cfg.strategy`'s decision on the evidence."""
    if cfg.strategy == "never":
        return Decision(False)
    if cfg.strategy == "scheduled":
        due = ev.served >= int(cfg.every)
        return Decision(due, f"every {cfg.every}" if due else "")
    if cfg.strategy == "performance":
        return _performance(str(cfg.metric), float(cfg.threshold), ev)
    return _drift(cfg, ev)


def _performance(metric: str, threshold: float, ev: Evidence) -> Decision:
    if ev.scored is None:
        return Decision(False)
    now, ref = ev.scored[metric], ev.reference[metric]
    # NCE is better low, AUC high: both rules say "worse than the reference by a relative margin"
    worse = now > ref * (1 + threshold) if metric == "nce" else now < ref * (1 - threshold)
    return Decision(worse, f"{metric} {now:.4f} vs reference {ref:.4f}" if worse else "")


def _drift(cfg: DictConfig, ev: Evidence) -> Decision:
    if cfg.detector in ("adwin", "page_hinkley"):
        return Decision(ev.stream_alarm, f"{cfg.detector} fired on the loss stream" if ev.stream_alarm else "")
    if ev.drift is None:
        return Decision(False)
    threshold = float(cfg.threshold)
    name, value = ev.drift.worst_feature
    checks = []
    if cfg.watch in ("features", "both"):
        checks.append((f"{cfg.detector} of {name}", value))
    if cfg.watch in ("predictions", "both"):
        checks.append((f"{cfg.detector} of the predictions", ev.drift.predictions))
    fired = [(what, v) for what, v in checks if v > threshold]
    return Decision(bool(fired), "; ".join(f"{what} {v:.3f} > {threshold:g}" for what, v in fired))
