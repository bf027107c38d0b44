"""The replay: train on the first windows, then for each following window predict it, score it when its
labels arrive, decide whether to retrain, and retrain (from scratch on a sliding window, or warm-start
fine-tuning of the deployed model on the recent windows).

Training goes through Lightning with the ctr kind's own `CTRTask` and optimizer settings, on one
device: up to `retraining.epochs` epochs, validated on the model's hold-out rows after each, keeping the
best epoch by the eval suite's monitored metric (and stopping early as `early_stopping` says), as a
normal run keeps its best checkpoint; the weights stay in memory (no checkpoint files). Each training is
seeded from (seed, generation), so the same config and seed give the same numbers.
The first model also predicts every window: the "never retrain" line every run is compared against.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from torchmetrics import Metric

from framework.data.tabular.features import EncodedTable, TabularEncoder
from framework.metrics.suite import compute_once
from framework.monitoring import detectors, report
from framework.monitoring.strategies import Decision, Evidence, after_decision, decide, decision_fields
from framework.monitoring.training import fit_keeping_best
from framework.monitoring.windows import Windows, fit_encoder, tensors
from framework.tasks.ctr.module import CTRTask
from framework.tasks.result import RecipeResult
from framework.training.loop import RunContext

STREAM_POINTS = 50  # points per window of the loss stream the river detectors watch: means of equal chunks
# of rows (one row's loss is mostly noise; Page-Hinkley waits for 30 points before it may fire)
REFERENCE_ROWS = 20_000  # training rows kept as the drift reference (a seeded sample)


@dataclass
class Deployed:
    """A trained model and what monitoring compares its traffic with."""

    generation: int  # 0: the first model
    task: CTRTask
    encoder: TabularEncoder
    trained_on: tuple[int, int]  # windows first..stop-1
    reference: dict[str, float]  # eval-suite metrics on the hold-out of its training rows
    sample: dict[str, np.ndarray]  # encoded training rows (a sample) per feature, and hold-out predictions
    seconds: float  # encoding + training
    samples: int  # rows trained on x epochs: the compute cost that does not depend on the machine's load
    best_epoch: int | None  # the epoch whose weights are kept (by the hold-out's monitored metric)


@dataclass
class Replay:
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per replayed window
    events: list[dict[str, Any]] = field(default_factory=list)  # retrains (and skipped ones), with reasons
    models: list[Deployed] = field(default_factory=list)


def window_metrics(metrics: dict[str, Metric], probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The eval suite's metrics of one window's predictions (fresh clones: nothing accumulates)."""
    return compute_once(metrics, torch.from_numpy(probs), torch.from_numpy(labels).int())


def predict(task: CTRTask, encoded: EncodedTable, batch_size: int) -> np.ndarray:
    """Calibrated click probabilities of every row, in batches."""
    batch = tensors(encoded)
    task.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            part = {k: v[start : start + batch_size] for k, v in batch.items()}
            out.append(task.predict_step(part, 0).numpy())
    return np.concatenate(out).astype(np.float64)


def features_of(encoded: EncodedTable, categorical: list[str], numeric: list[str]) -> dict[str, np.ndarray]:
    """Encoded columns by name (ids as the served model sees them: new ids are its out-of-vocabulary id)."""
    out = {name: encoded.categorical[:, i] for i, name in enumerate(categorical)}
    out.update({name: encoded.numeric[:, i] for i, name in enumerate(numeric)})
    return out


def train(
    ctx: RunContext,
    metrics: dict[str, Metric],
    windows: Windows,
    first: int,
    stop: int,
    previous: Deployed | None,
    generation: int,
    held_out: np.ndarray,
) -> Deployed:
    """A model trained on windows first..stop-1: a new one (new encoder) unless warm-starting `previous`.
    The rows marked in `held_out` (one seeded mask over the whole log) are its reference and never trained
    on, by this model or any other: a warm-started model's hold-out holds no row its ancestors learnt."""
    from hydra.utils import instantiate

    from framework.data.batching import TensorTable, batch_loader
    from framework.training.optimizers import optimizer_factories, sparse_embeddings

    cfg, rcfg = ctx.cfg, ctx.cfg.retraining
    seed = int(cfg.seed) * 1000 + generation
    start = time.perf_counter()
    table = windows.rows(first, stop)
    warm = previous is not None and rcfg.mode == "warm_start"
    encoder = previous.encoder if warm else fit_encoder(cfg.dataset.features, table)
    encoded = encoder.transform(table)
    rng = np.random.default_rng(seed)
    mask = held_out[windows.bounds[first] : windows.bounds[stop]]
    hold, fit_rows = np.flatnonzero(mask), np.flatnonzero(~mask)
    L.seed_everything(seed, workers=True, verbose=False)
    if warm:  # a copy: the deployed model keeps serving until the new one is ready
        model = copy.deepcopy(previous.task.model).train()  # predicting left it in eval mode (dropout off)
    else:
        model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=encoder.spec(table))
    monitor, mode = f"val/{cfg.eval.monitor}", str(cfg.eval.mode)
    task = CTRTask(
        model,
        {str(cfg.eval.monitor): metrics[str(cfg.eval.monitor)].clone()},  # validated on the hold-out
        **optimizer_factories(cfg.optim),
        monitor=monitor,
        sparse_embeddings=sparse_embeddings(cfg),
    )
    batch = tensors(encoded)
    train_table = TensorTable({k: v[torch.from_numpy(fit_rows)] for k, v in batch.items()})
    held_table = TensorTable({k: v[torch.from_numpy(hold)] for k, v in batch.items()})
    best, epochs = fit_keeping_best(
        cfg,
        task,
        seed,
        mode,
        train_dataloaders=batch_loader(train_table, int(cfg.dataset.batch_size), True, seed),
        val_dataloaders=batch_loader(held_table, int(cfg.dataset.eval_batch_size), False, seed),
    )
    seconds = time.perf_counter() - start
    held = EncodedTable(encoded.categorical[hold], encoded.numeric[hold], encoded.label[hold])
    probs = predict(task, held, int(cfg.dataset.eval_batch_size))
    rows = fit_rows[np.sort(rng.permutation(len(fit_rows))[:REFERENCE_ROWS])]  # training rows: the drift reference
    reference = EncodedTable(encoded.categorical[rows], encoded.numeric[rows], encoded.label[rows])
    sample = features_of(reference, table.categorical, table.numeric)
    sample["prediction"] = probs  # hold-out predictions: training rows' own would be over-confident
    return Deployed(
        generation,
        task,
        encoder,
        (first, stop),
        window_metrics(metrics, probs, held.label),
        sample,
        seconds,
        len(fit_rows) * epochs,
        best.epoch,
    )


def run_replay(ctx: RunContext, windows: Windows, metrics: dict[str, Metric]) -> RecipeResult:
    """The whole replay; its record (per-window rows, retrains, summary) goes to run.json."""
    cfg, rcfg = ctx.cfg, ctx.cfg.retraining
    count, first = len(windows), int(rcfg.initial_windows)
    delay, batch = int(rcfg.label_delay), int(cfg.dataset.eval_batch_size)
    held_out = np.random.default_rng(int(cfg.seed)).random(windows.table.frame.height) < float(rcfg.holdout)
    held_out[windows.bounds[1:] - 1] = True  # every window holds out at least one row
    with ctx.timer("fit"):
        deployed = train(ctx, metrics, windows, 0, first, None, 0, held_out)
    initial, replay = deployed, Replay(models=[deployed])
    stream = None
    if rcfg.strategy == "drift" and rcfg.detector in ("adwin", "page_hinkley"):
        stream = detectors.StreamDetector(str(rcfg.detector), float(rcfg.threshold))
    pending: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}  # window -> (probs, labels, generation)
    served = 0
    retrain_seconds = 0.0
    changed_at: int | None = None  # the window the newest alarm found the data changed from
    with ctx.timer("replay"):
        for w in range(first, count):
            table = windows.rows(w, w + 1)
            encoded = deployed.encoder.transform(table)
            probs, labels = predict(deployed.task, encoded, batch), encoded.label.astype(np.float64)
            served += 1
            quality = window_metrics(metrics, probs, labels)
            if deployed is initial:
                never = quality
            else:
                never = window_metrics(metrics, predict(initial.task, initial.encoder.transform(table), batch), labels)
            # Drift scores on every run (cheap, and what a drift threshold would be chosen from); PSI unless
            # the drift strategy asks for KS.
            method = "ks" if rcfg.strategy == "drift" and rcfg.detector == "ks" else "psi"
            current = features_of(encoded, table.categorical, table.numeric) | {"prediction": probs}
            drift = detectors.score_window(method, deployed.sample, current, table.categorical)
            pending[w] = (probs, labels, deployed.generation)
            scored, alarm = _labels_arrive(pending, w - delay, deployed, metrics, stream)
            ev = Evidence(w, served, scored, deployed.reference, drift, alarm, w - delay if scored else None)
            decision = decide(rcfg, ev)
            retrain, changed_at, held = after_decision(rcfg, decision, changed_at, deployed.trained_on, w - delay + 1)
            row = {"window": w, "generation": deployed.generation, **quality}
            row.update({f"never/{k}": v for k, v in never.items()})
            row.update({f"reference/{k}": v for k, v in deployed.reference.items()})
            name, value = drift.worst_feature
            row.update(
                {
                    f"{method}/worst_feature": name,
                    f"{method}/features": value,
                    f"{method}/predictions": drift.predictions,
                }
            )
            if scored is not None:
                row["scored_window"] = w - delay
            row.update(decision_fields(decision, retrain, held))
            replay.rows.append(row)
            if retrain.retrain and w + 1 < count:  # a retrain after the last window would serve nothing
                deployed, seconds = _retrain(ctx, metrics, windows, w, deployed, retrain, replay, held_out)
                retrain_seconds += seconds
                if seconds:
                    served = 0
                    if stream is not None:
                        stream.reset()  # a new model: a new loss stream
    summary = report.summarize(replay.rows, replay.events, rcfg, initial.seconds, retrain_seconds)
    data = {"rows": {"log": windows.table.frame.height, "windows": len(windows)}, "cache": "not used"}
    return report.recipe_result(ctx, replay.rows, replay.events, summary, windows.sizes(), data)


def _labels_arrive(
    pending: dict, window: int, deployed: Deployed, metrics: dict[str, Metric], stream: Any
) -> tuple[dict[str, float] | None, bool]:
    """Labels of `window` arrive: its metrics if the deployed model predicted it, and the loss stream's alarm."""
    if window not in pending:
        return None, False
    probs, labels, generation = pending.pop(window)
    if generation != deployed.generation:  # predicted by a model no longer deployed: says nothing of this one
        return None, False
    alarm = False
    if stream is not None:
        p = np.clip(probs, 1e-7, 1 - 1e-7)
        loss = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
        alarm = stream.update(detectors.chunk_means(loss, max(1, len(loss) // STREAM_POINTS)))
    return window_metrics(metrics, probs, labels), alarm


def _retrain(
    ctx: RunContext,
    metrics: dict[str, Metric],
    windows: Windows,
    w: int,
    deployed: Deployed,
    decision: Decision,
    replay: Replay,
    held_out: np.ndarray,
) -> tuple[Deployed, float]:
    """Retrain on the newest `train_windows` labelled windows; skipped (0 s) when no labels arrived since
    the deployed model's training."""
    rcfg = ctx.cfg.retraining
    stop = w - int(rcfg.label_delay) + 1  # windows whose labels have arrived
    event: dict[str, Any] = {"after_window": w, "reason": decision.reason}
    if stop <= deployed.trained_on[1]:
        replay.events.append({**event, "skipped": "no labelled window since the last training"})
        return deployed, 0.0
    first = max(0, stop - int(rcfg.train_windows))
    new = train(ctx, metrics, windows, first, stop, deployed, deployed.generation + 1, held_out)
    replay.models.append(new)
    replay.events.append(
        {
            **event,
            "trained_on": [first, stop - 1],
            "seconds": round(new.seconds, 3),
            "samples": new.samples,
            "best_epoch": new.best_epoch,
        }
    )
    return new, new.seconds
