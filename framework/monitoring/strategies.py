"""Retraining strategies: after each window is predicted, `decide` says whether to retrain now.

A strategy sees only what production would see at that moment: how many windows the deployed model has
served, the quality of the newest window whose labels have arrived (after `label_delay` windows; only
windows the deployed model predicted), its reference quality (on a hold-out of its own training windows),
drift scores of the newest window's features and predictions, and whether the loss-stream detector fired.

- never        keep the first model
- scheduled    every `every` windows
- performance  the newest scored window's NCE (or AUC) is worse than the reference by more than
               `threshold`, relatively: NCE > ref x (1 + threshold), AUC < ref x (1 - threshold)
               (the video case: its stage-1 recall@K, recall < ref x (1 - threshold), where the reference
               is the model's recall on the first window it served: retrieval_replay.py)
- drift        PSI or KS of features / predictions above `threshold`, or river's ADWIN / Page-Hinkley
               firing on the loss stream (`threshold` is then the detector's delta or lambda)

An alarm (performance, drift) also says from which window the data changed (`Decision.since`: the window
whose labels or features fired). The retrain right after it still trains on windows from before the change;
with `followup` the replay retrains once more when its training windows all follow the change, and holds
further alarms until then (they would retrain on the same mix of before and after): one change, two retrains.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from framework.monitoring.detectors import DriftScores

STRATEGIES = ("never", "scheduled", "performance", "drift")
# The keys only one strategy reads (a key another strategy would ignore is a config error).
OWN_KEYS = {
    "scheduled": ("every",),
    "performance": ("metric", "threshold", "followup"),
    "drift": ("detector", "watch", "threshold", "followup"),
}


@dataclass
class Evidence:
    window: int  # the window just predicted
    served: int  # windows the deployed model has predicted, this one included
    scored: dict[str, float] | None  # eval-suite metrics of the newest labelled window it predicted
    reference: dict[str, float]  # the same metrics on the deployed model's hold-out
    drift: DriftScores | None  # PSI / KS of this window against the deployed model's training data
    stream_alarm: bool  # the loss-stream detector (ADWIN / Page-Hinkley) fired on the newly labelled rows
    scored_window: int | None = None  # the window `scored` (and the loss stream's newest rows) belong to


@dataclass
class Decision:
    retrain: bool
    reason: str = ""
    since: int | None = None  # an alarm: the first window it found changed


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
    if not worse:
        return Decision(False)
    return Decision(True, f"{metric} {now:.4f} vs reference {ref:.4f}", ev.scored_window)


def _drift(cfg: DictConfig, ev: Evidence) -> Decision:
    if cfg.detector in ("adwin", "page_hinkley"):
        if not ev.stream_alarm:
            return Decision(False)
        return Decision(True, f"{cfg.detector} fired on the loss stream", ev.scored_window)
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
    if not fired:
        return Decision(False)
    return Decision(True, "; ".join(f"{what} {v:.3f} > {threshold:g}" for what, v in fired), ev.window)


def followup(cfg: DictConfig, changed_at: int | None, trained_from: int, labelled: int) -> Decision:
    """After an alarm that found data changed from window `changed_at`: retrain once more as soon as the
    newest `train_windows` labelled windows (up to `labelled` - 1) all follow it, if the served model
    (trained from window `trained_from`) still learnt from before the change."""
    if not cfg.get("followup") or changed_at is None or trained_from >= changed_at:
        return Decision(False)
    due = labelled - int(cfg.train_windows) >= changed_at
    reason = f"follow-up: the newest {cfg.train_windows} labelled windows all follow the change at window {changed_at}"
    return Decision(due, reason if due else "")


def after_decision(
    cfg: DictConfig, decision: Decision, changed_at: int | None, trained_on: tuple[int, int], labelled: int
) -> tuple[Decision, int | None, bool]:
    """A replay's step after `decide`, with the served model trained on windows trained_on[0]..[1]-1 and
    windows up to `labelled` - 1 labelled: (what to do, the change window now tracked, whether an alarm was
    held). An alarm about a new change starts tracking it; while the served model was retrained after the
    change but still learnt from before it, its follow-up is due and another alarm would only retrain on the
    same mix again, so it is held. (retrieval_replay.py uses it; replay.py spells out the same steps.)"""
    first, stop = trained_on
    if decision.since is not None and (changed_at is None or first >= changed_at):
        changed_at = decision.since  # a new change: the served model learnt only from after the last one
    transitional = bool(cfg.get("followup")) and changed_at is not None and first < changed_at < stop
    retrain = decision
    if not decision.retrain or transitional:
        retrain = followup(cfg, changed_at, first, labelled)
    return retrain, changed_at, decision.retrain and not retrain.retrain


def decision_fields(decision: Decision, retrain: Decision, held: bool) -> dict[str, bool | str]:
    """A replayed window's record of the step: the strategy's alarm (a follow-up is no new detection),
    whether a follow-up retrain was due, and an alarm held until the follow-up."""
    out: dict[str, bool | str] = {"alarm": decision.retrain}
    if retrain is not decision:
        out["followup"] = retrain.retrain
    if held:
        out["held"] = "a follow-up on windows after the change is due"
    return out
