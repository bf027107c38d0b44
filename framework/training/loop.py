"""Fit and test one LightningModule the way every run does: checkpoints, resume, trackers, callbacks.

A case's recipe (`framework.tasks.<task>.run_case`) builds its data, model and task, then calls
`fit_and_test` once per trained stage (a two_stage case trains a candidate generator, then a ranker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as L
from omegaconf import DictConfig, OmegaConf

from framework.timing import PhaseTimer
from framework.training.callbacks import AtomicCheckpointIO, EpochSeed, MetricHistory, ProgressBar, ThroughputMonitor


@dataclass
class RunContext:
    """What a recipe needs from the run around it."""

    cfg: DictConfig
    run_dir: Path
    timer: PhaseTimer
    rank_zero: bool
    model_name: str
    resume: bool
    loggers: list = field(default_factory=list)
    callbacks: list = field(default_factory=list)  # extra callbacks, e.g. a sweep's pruning callback
    verbose: bool = True  # print the kind's own reports (a single run; a multirun prints one line per job)


@dataclass
class StageResult:
    best: dict[str, float]  # validation metrics of the best epoch (by the monitored metric)
    test: dict[str, float]  # test metrics of the best checkpoint
    history: list[dict[str, float]]  # validation metrics of every epoch
    epochs: int
    samples_per_s: float | None
    best_checkpoint: str
    is_global_zero: bool


class _StageHistory(MetricHistory):
    """MetricHistory of a stage whose validation metrics are logged under `<prefix>val/` (e.g. `retrieval/val/`)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(self.prefix)}
        row.update(epoch=trainer.current_epoch, step=trainer.global_step)
        self.rows.append(row)


def fit_and_test(
    ctx: RunContext,
    task: L.LightningModule,
    data: L.LightningDataModule,
    stage: str = "",
    monitor: str | None = None,
    mode: str | None = None,
    max_epochs: int | None = None,
    patience: int | None = None,
) -> StageResult:
    """Train with checkpointing on the eval suite's monitored metric, then test the best checkpoint.

    Checkpoints go to <run dir>/checkpoints[/<stage>]: the best epochs and `last.ckpt`, written after
    every epoch (and every `checkpoint.every_n_train_steps` steps if set), atomically. With
    `resume=true` training continues from `last.ckpt`. A stage with its own eval suite passes its
    `monitor` (the logged name, e.g. `retrieval/val/recall@20`) and `mode`; `max_epochs` and the
    early-stopping `patience` override the run's for this stage.
    """
    cfg = ctx.cfg
    monitor = monitor or f"val/{cfg.eval.monitor}"
    mode = mode or str(cfg.eval.mode)
    ckpt_dir = ctx.run_dir / "checkpoints" / stage if stage else ctx.run_dir / "checkpoints"
    best_ckpt = L.callbacks.ModelCheckpoint(
        dirpath=ckpt_dir,
        filename="best-epoch{epoch:02d}",
        auto_insert_metric_name=False,
        monitor=monitor,
        mode=mode,
        save_top_k=cfg.checkpoint.save_top_k,
    )
    # last.ckpt after every epoch (Lightning's own save_last follows new bests only): what resume=true loads.
    last = [L.callbacks.ModelCheckpoint(dirpath=ckpt_dir, filename="last", enable_version_counter=False)]
    if cfg.checkpoint.every_n_train_steps:
        last.append(
            L.callbacks.ModelCheckpoint(
                dirpath=ckpt_dir,
                filename="last",
                enable_version_counter=False,
                every_n_train_steps=cfg.checkpoint.every_n_train_steps,
            )
        )
    prefix = monitor.rsplit("/", 1)[0] + "/"
    throughput, history = ThroughputMonitor(), (MetricHistory() if prefix == "val/" else _StageHistory(prefix))
    # Extra callbacks (a sweep's pruner) follow the run's objective: only the stage that logs it gets them.
    extra = ctx.callbacks if monitor == f"val/{cfg.eval.monitor}" else []
    callbacks: list[L.Callback] = [EpochSeed(int(cfg.seed)), best_ckpt, *last, throughput, history, *extra]
    if cfg.early_stopping is not None:
        es = cfg.early_stopping
        wait = es.patience if patience is None else patience
        callbacks.append(L.callbacks.EarlyStopping(monitor, es.min_delta, wait, mode=mode))
    if cfg.trainer.enable_progress_bar:
        callbacks.append(ProgressBar(leave=True))
    trainer_args = OmegaConf.to_container(cfg.trainer, resolve=True)
    if max_epochs is not None:
        trainer_args["max_epochs"] = max_epochs
    resume_from = ckpt_dir / "last.ckpt"
    resume = ctx.resume and resume_from.exists()
    stopped = _stopped_early_after(resume_from) if resume else None
    if stopped is not None:  # resuming a stage that stopped early: it is finished, train nothing more
        trainer_args["max_epochs"] = stopped
    trainer = L.Trainer(
        **trainer_args,
        default_root_dir=str(ctx.run_dir),
        logger=ctx.loggers or False,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False,
        enable_model_summary=False,
    )
    with ctx.timer(f"fit{'_' + stage if stage else ''}"):
        trainer.fit(task, datamodule=data, ckpt_path=str(resume_from) if resume else None)
    epochs = list(history.rows)  # testing "best" restores callback states as of that checkpoint: keep them all
    with ctx.timer(f"test{'_' + stage if stage else ''}"):
        best_path = best_ckpt.best_model_path or None  # None: no validation ran, test the current weights
        tested = trainer.test(task, datamodule=data, ckpt_path=best_path, verbose=False)
    return StageResult(
        best=best_row(epochs, monitor, mode) or {},
        test={k: float(v) for k, v in (tested[0] if tested else {}).items()},
        history=epochs,
        epochs=trainer.current_epoch,
        samples_per_s=throughput.samples_per_second,
        best_checkpoint=best_ckpt.best_model_path,
        is_global_zero=trainer.is_global_zero,
    )


def _stopped_early_after(checkpoint: Path) -> int | None:
    """The epochs a stage had run when early stopping ended it, if it did (else None). Lightning keeps the
    stopping callback's counters in a checkpoint but not its decision, so a resumed run would train on."""
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    for key, value in state.get("callbacks", {}).items():
        if key.startswith("EarlyStopping") and value.get("stopped_epoch", 0) > 0:
            return int(state["epoch"]) + 1
    return None


def best_row(rows: list[dict[str, float]], monitor: str, mode: str) -> dict[str, float] | None:
    """The epoch row with the best `monitor` value."""
    rows = [r for r in rows if monitor in r]
    if not rows:
        return None
    return (min if mode == "min" else max)(rows, key=lambda r: r[monitor])


def parameter_count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def fit_outcome(ctx: RunContext, result: StageResult) -> dict[str, Any]:
    """What a recipe keeps of a Lightning fit: validation metrics of the best epoch and test metrics of
    the best checkpoint, the history, the throughput and both checkpoints."""
    metrics = {k: v for k, v in result.best.items() if k.startswith("val/")}
    metrics.update({k: v for k, v in result.test.items() if k.startswith("test/")})
    return {
        "metrics": metrics,
        "epochs": result.epochs,
        "history": result.history,
        "samples_per_s": result.samples_per_s,
        "checkpoints": {"best": result.best_checkpoint, "last": str(ctx.run_dir / "checkpoints" / "last.ckpt")},
    }
