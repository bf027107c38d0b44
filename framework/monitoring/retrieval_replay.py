"""The video case's replay (a two_stage case with `retraining` set): the watch log in time windows (a day
each), its stage-1 retrieval model retrained and its item index refreshed by a strategy.

Train stage 1 on the first windows, then for each following window: recommend (K = the case's
`serving.candidates_per_request`) to every user active in it from the deployed model + index, the user's
earlier positives left out; the window's positives are what the user goes on to watch. When its labels
arrive (`label_delay` windows later) the window is scored: stage-1 recall@K and the main eval suite on
the candidates in stage 1's order. Then the strategy decides; a retrain trains a new stage-1 model on the
newest `train_windows` labelled windows and rebuilds the index over the catalogue of its training cutoff,
so the videos released since are in it. The first model and its index also serve every window: "never".

Stage 2 (the ranker) is not replayed: it re-orders stage 1's K candidates and cannot bring back a video
stage 1 missed, so stage 1 + its index is what goes stale. (`ranker` / `ranking` are unused here.)

Reused, not copied: the two_stage kind's `RetrievalTask` and `Objective` (training, full-ranking
validation on the hold-out to keep the best epoch), the conf/index index behind the serving `Retriever`
(unseen top-k), and its evaluation of candidate lists. What a model is compared with (`reference`) is its
own quality on the first window it served, scored like every later window; a hold-out of random pairs from
its training days measures how well it fills gaps in the past, not the next day's recommendations, and
would sit apart from every window's recall whether or not the data changed. Each training is seeded from
(seed, generation): the same config and seed give the same numbers on CPU.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import lightning.pytorch as L
import numpy as np
from omegaconf import DictConfig
from torchmetrics import Metric

from framework.data.interactions.datamodule import InteractionDataModule
from framework.data.interactions.splits import TRAIN, VALID
from framework.data.interactions.table import EncodedInteractions, UserItemSets
from framework.errors import ConfigError
from framework.monitoring import report
from framework.monitoring.strategies import Decision, Evidence, after_decision, decide, decision_fields
from framework.monitoring.training import fit_keeping_best
from framework.serving.index import VectorIndex
from framework.serving.retriever import Retriever
from framework.tasks.result import RecipeResult
from framework.tasks.two_stage.evaluation import candidate_lists, candidate_recall, evaluate_lists
from framework.tasks.two_stage.retrieval import PREFIX, Objective, RetrievalTask
from framework.training.loop import RunContext

MIN_WINDOW_USERS = 20  # fewer active users than this in a window make its recall noise
RELEASED = "released_at"  # item table column (seconds): when a video exists; without it every item always has


@dataclass
class LogWindows:
    """The log's positives (one per user-item pair, in time order) cut into windows of equal time."""

    encoded: EncodedInteractions
    bounds: np.ndarray  # int64 [count + 1]: window i is positives bounds[i]:bounds[i + 1]
    edges: np.ndarray  # int64 [count + 1] seconds: window i spans edges[i] .. edges[i + 1]
    released: np.ndarray | None  # int64 [I] seconds from which each item exists (None: from the start)
    info: dict[str, Any]

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def sizes(self) -> list[int]:
        return np.diff(self.bounds).tolist()

    def pairs(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        rows = slice(int(self.bounds[first]), int(self.bounds[stop]))
        return self.encoded.user[rows], self.encoded.item[rows]

    def sets(self, first: int, stop: int) -> UserItemSets:
        spec = self.encoded.spec
        return UserItemSets(*self.pairs(first, stop), spec.n_users, spec.n_items)

    def catalogue(self, stop: int) -> np.ndarray:
        """The items released by the newest positive of windows up to stop - 1: what an index built right
        after training on them holds (by the data's own clock, so window edges a few seconds off a day's
        start do not move a day's releases into the index of the day before)."""
        if self.released is None:
            return np.arange(self.encoded.spec.n_items)
        return np.flatnonzero(self.released <= self.encoded.timestamp[self.bounds[stop] - 1])


def load_windows(cfg: DictConfig) -> LogWindows:
    """Read and encode the interactions once (the whole catalogue's ids: a model trained before a video's
    release has an untrained row for it, and its index leaves it out), cut into `retraining.windows`."""
    from framework.data import read_source
    from framework.data.interactions.datamodule import _NOT_SOURCE_ARGS
    from framework.data.interactions.table import InteractionTable, encode_interactions

    table, _ = read_source(cfg.dataset, _NOT_SOURCE_ARGS, InteractionTable, "user-item interactions")
    encoded = encode_interactions(table, cfg.dataset.get("positive_threshold"))
    times = table.interactions.get_column("timestamp")
    count = int(cfg.retraining.windows)
    edges = np.linspace(int(times.min()), int(times.max()) + 1, count + 1).round().astype(np.int64)
    bounds = np.searchsorted(encoded.timestamp, edges, side="left").astype(np.int64)
    users = [len(np.unique(encoded.user[bounds[i] : bounds[i + 1]])) for i in range(count)]
    if min(users) < MIN_WINDOW_USERS:
        raise ConfigError(
            f"retraining.windows={count} leaves a window of dataset '{cfg.dataset.name}' with {min(users)} active "
            f"users (at least {MIN_WINDOW_USERS} each: users per window {users}). Use fewer windows or more data."
        )
    released = None
    if RELEASED in table.items.columns:
        released = table.items.sort("item").get_column(RELEASED).to_numpy().astype(np.int64)
    info = {**encoded.info, "source": table.source, "windows": count, "window_users": users}
    return LogWindows(encoded, bounds, edges, released, info)


class CatalogueIndex(VectorIndex):
    """The configured index (conf/index) over the catalogue's items only, answering with catalogue-wide ids:
    `Retriever` embeds every item and this keeps the ones that existed when the model was trained."""

    def __init__(self, inner: VectorIndex, ids: np.ndarray) -> None:
        super().__init__()
        self.inner, self.ids, self.name = inner, ids, inner.name

    def _build(self, vectors: np.ndarray) -> None:
        self.inner.build(vectors[self.ids])
        self.n_items = len(self.ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.inner.search(queries, k)
        return scores, np.where(ids >= 0, self.ids[np.clip(ids, 0, None)], -1)


class WindowData(InteractionDataModule):
    """A model's training windows as the data module `RetrievalTask` reads: the positives outside the
    hold-out train, the hold-out pairs validate (to keep the best epoch); no test split."""

    def __init__(self, cfg: DictConfig, seed: int, log: LogWindows, first: int, stop: int, hold_out: np.ndarray):
        super().__init__(cfg, ".", seed)
        e, rows = log.encoded, slice(int(log.bounds[first]), int(log.bounds[stop]))
        arrays = {
            "user": e.user[rows],
            "item": e.item[rows],
            "timestamp": e.timestamp[rows],
            "part": np.where(hold_out[rows], VALID, TRAIN).astype(np.int8),
            "user_cat": e.users.categorical,
            "user_num": e.users.numeric,
            "item_cat": e.items.categorical,
            "item_num": e.items.numeric,
            "item_tags": e.item_tags,
        }
        self._index(arrays, e.spec)


@dataclass
class Deployed:
    """A trained stage-1 model, its index, and the quality it is compared with."""

    generation: int  # 0: the first model
    task: RetrievalTask
    retriever: Retriever  # the model's copy + the index over its catalogue
    trained_on: tuple[int, int]  # windows first..stop-1
    catalogue: int  # items in its index
    seconds: float  # training + index build
    samples: int  # training pairs x epochs
    best_epoch: int | None
    holdout: dict[str, float | None]  # the retrieval suite's monitored metric of the kept epoch, on its hold-out
    reference: dict[str, float] | None = None  # its first served window's scores, once labelled


@dataclass
class Replay:
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def train(
    ctx: RunContext,
    log: LogWindows,
    first: int,
    stop: int,
    previous: Deployed | None,
    generation: int,
    hold_out: np.ndarray,
) -> Deployed:
    """A stage-1 model trained on windows first..stop-1 (from scratch, or fine-tuning `previous` with
    mode=warm_start), and its index over the catalogue at the training cutoff. `hold_out` marks the log's
    positives no model trains on (one seeded mask): they pick each model's best epoch."""
    from hydra.utils import instantiate

    from framework.metrics.suite import build_metrics
    from framework.training.optimizers import optimizer_factories, sparse_embeddings

    cfg, r, rcfg = ctx.cfg, ctx.cfg.retrieval, ctx.cfg.retraining
    seed = int(cfg.seed) * 1000 + generation
    start = time.perf_counter()
    L.seed_everything(seed, workers=True, verbose=False)
    data = WindowData(cfg.dataset, seed, log, first, stop, hold_out)
    if previous is not None and rcfg.mode == "warm_start":
        model = copy.deepcopy(previous.task.model).train()
    else:
        model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=data.spec)
    if hasattr(model, "set_history"):  # a user tower that reads the user's training history
        model.set_history(data.sets["train"].indptr, data.sets["train"].indices)
    objective = Objective(r.loss, r.negatives, r.num_negatives, r.logq_correction, r.temperature, r.embedding_l2)
    monitor, mode = f"{PREFIX}val/{r.eval.monitor}", str(r.eval.mode)
    task = RetrievalTask(
        model,
        build_metrics(r.eval),
        data,
        objective,
        **optimizer_factories(cfg.optim),
        monitor=monitor,
        sparse_embeddings=sparse_embeddings(cfg),
    )
    best, epochs = fit_keeping_best(cfg, task, seed, mode, datamodule=data)
    holdout = {str(r.eval.monitor): best.value}  # the kept epoch's validation score
    catalogue = log.catalogue(stop)
    retriever = Retriever(task.model, data.users, data.items, CatalogueIndex(instantiate(cfg.index), catalogue))
    return Deployed(
        generation,
        task,
        retriever,
        (first, stop),
        len(catalogue),
        time.perf_counter() - start,
        len(data.pairs["train"][0]) * epochs,
        best.epoch,
        holdout,
    )


def score_window(
    deployed: Deployed, log: LogWindows, w: int, metrics: dict[str, Metric], k: int
) -> tuple[dict[str, float], float]:
    """Recommend K unseen videos to every user active in window w (their earlier positives left out) and
    score them against what each went on to watch in it: recall@K and the eval suite on stage 1's order.
    Also the share of the window's positives the deployed index cannot return (released after its build)."""
    targets = log.sets(w, w + 1)
    users = targets.users_with_items()
    candidates = deployed.retriever.candidates(users, log.sets(0, w), k)
    scores = {"recall": candidate_recall(candidates, targets)}
    scores.update(evaluate_lists(metrics, candidate_lists(candidates, targets, deployed.task.item_tags)))
    indexed = np.zeros(log.encoded.spec.n_items, bool)
    indexed[deployed.retriever.index.ids] = True
    return scores, float(1 - indexed[log.pairs(w, w + 1)[1]].mean())


def run_replay(ctx: RunContext, log: LogWindows, metrics: dict[str, Metric]) -> RecipeResult:
    """The whole replay; its record (per-window rows, retrains, summary) goes to run.json."""
    cfg, rcfg = ctx.cfg, ctx.cfg.retraining
    k = int(cfg.case.serving.candidates_per_request)
    count, first, delay = len(log), int(rcfg.initial_windows), int(rcfg.label_delay)
    hold_out = np.random.default_rng(int(cfg.seed)).random(len(log.encoded.user)) < float(rcfg.holdout)
    hold_out[log.bounds[1:] - 1] = True  # every window holds out at least one pair
    with ctx.timer("fit"):
        deployed = train(ctx, log, 0, first, None, 0, hold_out)
    initial, replay = deployed, Replay()
    pending: dict[int, tuple[dict[str, float], int]] = {}  # window -> (its scores, the generation that served it)
    served, retrain_seconds = 0, 0.0
    changed_at: int | None = None
    with ctx.timer("replay"):
        for w in range(first, count):
            quality, unindexed = score_window(deployed, log, w, metrics, k)
            never = quality if deployed is initial else score_window(initial, log, w, metrics, k)[0]
            served += 1
            pending[w] = (quality, deployed.generation)
            scored = _labels_arrive(pending, w - delay, deployed)
            reference = deployed.reference or {}
            ev = Evidence(w, served, scored, reference, None, False, w - delay if scored else None)
            decision = decide(rcfg, ev)
            retrain, changed_at, held = after_decision(rcfg, decision, changed_at, deployed.trained_on, w - delay + 1)
            row = {"window": w, "generation": deployed.generation, **quality, "unindexed": unindexed}
            row.update({f"never/{name}": v for name, v in never.items()})
            row.update({f"reference/{name}": v for name, v in reference.items()})
            if scored is not None:
                row["scored_window"] = w - delay
            row.update(decision_fields(decision, retrain, held))
            replay.rows.append(row)
            if retrain.retrain and w + 1 < count:  # a retrain after the last window would serve nothing
                deployed, seconds = _retrain(ctx, log, w, deployed, retrain, replay, hold_out)
                retrain_seconds += seconds
                if seconds:
                    served = 0
    quality_names = ("recall", str(cfg.eval.monitor))
    summary = report.summarize(
        replay.rows, replay.events, rcfg, initial.seconds, retrain_seconds, quality=quality_names
    )
    summary["k"] = k
    data = {"rows": {"log": len(log.encoded.user), "windows": len(log)}, "cache": "not used", **log.info}
    return report.recipe_result(
        ctx, replay.rows, replay.events, summary, log.sizes(), data, quality_names, _model_record(initial)
    )


def _labels_arrive(pending: dict, window: int, deployed: Deployed) -> dict[str, float] | None:
    """Window `window`'s scores if the deployed model served it (the first one becomes its reference)."""
    if window not in pending:
        return None
    scores, generation = pending.pop(window)
    if generation != deployed.generation:  # served by a model no longer deployed: says nothing of this one
        return None
    if deployed.reference is None:
        deployed.reference = scores
    return scores


def _model_record(model: Deployed) -> dict[str, Any]:
    return {
        "trained_on": [model.trained_on[0], model.trained_on[1] - 1],
        "seconds": round(model.seconds, 3),
        "samples": model.samples,
        "best_epoch": model.best_epoch,
        "catalogue": model.catalogue,
        "holdout": model.holdout,
    }


def _retrain(
    ctx: RunContext,
    log: LogWindows,
    w: int,
    deployed: Deployed,
    decision: Decision,
    replay: Replay,
    hold_out: np.ndarray,
) -> tuple[Deployed, float]:
    """Retrain on the newest `train_windows` labelled windows and refresh the index; skipped (0 s) when no
    labels arrived since the deployed model's training."""
    rcfg = ctx.cfg.retraining
    stop = w - int(rcfg.label_delay) + 1
    event: dict[str, Any] = {"after_window": w, "reason": decision.reason}
    if stop <= deployed.trained_on[1]:
        replay.events.append({**event, "skipped": "no labelled window since the last training"})
        return deployed, 0.0
    new = train(ctx, log, max(0, stop - int(rcfg.train_windows)), stop, deployed, deployed.generation + 1, hold_out)
    replay.events.append({**event, **_model_record(new)})
    return new, new.seconds
