"""run(cfg): one experiment from a validated config to run.json. The steps and nothing else.

1. seed, resolve the run directory, print the case's design card, write run.json (status running)
2. data   = DataModule(dataset cfg)          encoded, cached arrays + FeatureSpec
3. model  = instantiate(model cfg, feature_spec)
4. task   = LightningModule(model, eval suite metrics, optimizer)
5. trainer= Lightning Trainer(hardware cfg, loggers, callbacks)
6. fit (or resume) -> test with the best checkpoint -> serving latency vs the case's budget
7. run.json (config, metrics, timings, versions, git revision) atomically; summary table
8. return the eval suite's monitored metric (for sweeps)
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from framework.errors import ConfigError


class PhaseTimer:
    """Wall-clock seconds per named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = round(self.seconds.get(phase, 0.0) + time.perf_counter() - start, 3)


def _run_dir_and_choices(cfg: DictConfig) -> tuple[Path, dict[str, str]]:
    if HydraConfig.initialized():
        hc = HydraConfig.get()
        return Path(hc.runtime.output_dir), {k: str(v) for k, v in hc.runtime.choices.items() if v is not None}
    return Path(os.getcwd()), {}


def _is_rank_zero() -> bool:
    return all(os.environ.get(v, "0") == "0" for v in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))


def _resume_checkpoint(cfg: DictConfig, run_dir: Path) -> str | None:
    last = run_dir / "checkpoints" / "last.ckpt"
    if cfg.resume:
        if not last.exists():
            raise ConfigError(
                f"resume=true, but {last} does not exist. Resume with the killed run's own directory: "
                f"python run.py <same arguments> resume=true hydra.run.dir=<that run's directory>."
            )
        return str(last)
    if last.exists():
        raise ConfigError(
            f"{run_dir} already holds a run (checkpoints/last.ckpt). Add resume=true to continue it, "
            f"or pick another hydra.run.dir to start afresh."
        )
    return None


def build_metrics(eval_cfg: DictConfig) -> dict[str, Any]:
    from hydra.utils import instantiate

    metrics = {str(name): instantiate(node) for name, node in eval_cfg.metrics.items()}
    better_high = getattr(metrics[eval_cfg.monitor], "higher_is_better", None)
    if better_high is not None and better_high != (eval_cfg.mode == "max"):
        raise ConfigError(
            f"eval.mode is '{eval_cfg.mode}', but the monitored metric '{eval_cfg.monitor}' is better when "
            f"{'higher' if better_high else 'lower'}: set eval.mode={'max' if better_high else 'min'}."
        )
    return metrics


def sparse_embeddings(cfg: DictConfig) -> bool:
    """Sparse gradients unless DDP runs on GPUs (NCCL cannot all-reduce sparse tensors)."""
    if cfg.optim.sparse_embeddings is not None:
        return bool(cfg.optim.sparse_embeddings)
    gpu = str(cfg.trainer.accelerator) in ("gpu", "cuda")
    return not (gpu and "ddp" in str(cfg.trainer.strategy))


def serving_latency(model: Any, table: Any, case: DictConfig, seed: int) -> dict[str, Any]:
    """p50/p99 of scoring one request of `candidates_per_request` test rows on CPU, against the budget."""
    import numpy as np
    import torch

    from framework.pipeline_stages.latency import measure_latency

    k = int(case.serving.candidates_per_request)
    scorer = copy.deepcopy(model).cpu().eval()
    n_rows = len(table)
    starts = np.random.default_rng(seed).integers(0, max(1, n_rows - k), size=10_000)

    def request(i: int) -> None:
        batch = table[slice(int(starts[i % len(starts)]), int(starts[i % len(starts)]) + k)]
        with torch.inference_mode():
            scorer(batch["categorical"], batch["numeric"])

    stats = measure_latency(request, int(case.serving.latency_requests))
    budget = float(case.design.latency_budget_ms)
    return {
        **stats, "candidates_per_request": min(k, n_rows), "budget_ms": budget,
        "within_budget": stats["p99_ms"] <= budget, "device": "cpu", "threads": torch.get_num_threads(),
    }  # fmt: skip


def run(cfg: DictConfig) -> float:
    timer = PhaseTimer()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    run_dir, choices = _run_dir_and_choices(cfg)
    rank_zero = _is_rank_zero()
    model_name = choices.get("model", str(cfg.model._target_).rsplit(".", 1)[-1])
    hardware = choices.get("hardware", str(cfg.trainer.accelerator))
    monitor = f"val/{cfg.eval.monitor}"

    with timer("setup"):
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
        import lightning.pytorch as L
        from hydra.utils import instantiate

        from framework.callbacks import AtomicCheckpointIO, MetricHistory, ThroughputMonitor
        from framework.data.datamodule import TabularDataModule
        from framework.schema import validate_targets
        from framework.tasks.ctr import CTRTask
        from framework.tracking import records
        from framework.tracking.loggers import build_loggers
        from framework.tracking.summary import print_design_card, print_summary

        validate_targets(cfg)
        resume_from = _resume_checkpoint(cfg, run_dir)
        metrics = build_metrics(cfg.eval)
        L.seed_everything(cfg.seed, workers=True, verbose=False)

    resolved = OmegaConf.to_container(cfg, resolve=True)
    record: dict[str, Any] = {
        "status": "running", "case": cfg.case.name, "model": model_name, "dataset": cfg.dataset.name,
        "hardware": hardware, "seed": cfg.seed, "run_dir": str(run_dir.resolve()), "started_at": started,
        "resumed": bool(resume_from), "objective": {"metric": monitor, "mode": cfg.eval.mode, "value": None},
        "metrics": {}, "timings": timer.seconds, "choices": choices, "config": resolved,
        "versions": records.versions(), "git": records.git_revision(Path(__file__).parent),
    }  # fmt: skip
    if rank_zero:
        print_design_card(cfg.case, model_name, str(cfg.dataset.name))
        records.write_json_atomic(run_dir / "run.json", record)
        (run_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    try:
        with timer("data"):
            pin = str(cfg.trainer.accelerator) in ("gpu", "cuda")
            data = TabularDataModule(cfg.dataset, cfg.paths.cache_dir, cfg.seed, pin_memory=pin)
            spec = data.prepare()
        model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=spec)
        optim = cfg.optim
        scheduler = optim.scheduler
        task = CTRTask(
            model, metrics,
            optimizer=instantiate(optim.optimizer, _partial_=True, _convert_="all"),
            scheduler=None if scheduler is None else instantiate(
                OmegaConf.masked_copy(scheduler, [k for k in scheduler if k != "interval"]), _partial_=True
            ),
            scheduler_interval=str(scheduler.get("interval", "epoch")) if scheduler is not None else "epoch",
            monitor=monitor, sparse_embeddings=sparse_embeddings(cfg), seed=cfg.seed,
        )  # fmt: skip

        checkpoint = L.callbacks.ModelCheckpoint(
            dirpath=run_dir / "checkpoints", filename="best-epoch{epoch:02d}", auto_insert_metric_name=False,
            monitor=monitor, mode=cfg.eval.mode, save_top_k=cfg.checkpoint.save_top_k,
        )  # fmt: skip
        # last.ckpt after every epoch (Lightning's save_last only follows new bests): what resume=true loads.
        last = [
            L.callbacks.ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", enable_version_counter=False)
        ]
        if cfg.checkpoint.every_n_train_steps:
            last.append(
                L.callbacks.ModelCheckpoint(
                    dirpath=run_dir / "checkpoints", filename="last", enable_version_counter=False,
                    every_n_train_steps=cfg.checkpoint.every_n_train_steps,
                )
            )  # fmt: skip
        throughput, history = ThroughputMonitor(), MetricHistory()
        callbacks: list[L.Callback] = [checkpoint, *last, throughput, history]
        if cfg.early_stopping is not None:
            callbacks.append(
                L.callbacks.EarlyStopping(
                    monitor, cfg.early_stopping.min_delta, cfg.early_stopping.patience, mode=cfg.eval.mode
                )
            )
        if cfg.trainer.enable_progress_bar:
            callbacks.append(L.callbacks.RichProgressBar(leave=True))
        tags = [f"dataset:{cfg.dataset.name}", f"hardware:{hardware}", *cfg.tags]
        loggers = build_loggers(
            cfg.logger, run_dir, name=f"{cfg.case.name}-{model_name}-seed{cfg.seed}", group=str(cfg.case.name),
            job_type=model_name, tags=tags, config=resolved, rank_zero=rank_zero,
        )  # fmt: skip
        trainer = L.Trainer(
            **OmegaConf.to_container(cfg.trainer, resolve=True),
            default_root_dir=str(run_dir), logger=loggers or False, callbacks=callbacks,
            plugins=[AtomicCheckpointIO()], use_distributed_sampler=False, enable_model_summary=False,
        )  # fmt: skip

        with timer("fit"):
            trainer.fit(task, datamodule=data, ckpt_path=resume_from)
        epochs = list(history.rows)  # testing "best" restores callback states as of that checkpoint
        with timer("test"):
            tested = trainer.test(task, datamodule=data, ckpt_path="best", verbose=False)

        if not trainer.is_global_zero:
            return float("nan")
        best = history.best(monitor, cfg.eval.mode, epochs) or {}
        record["metrics"] = {k: v for k, v in best.items() if k.startswith("val/")}
        record["metrics"].update({k: float(v) for k, v in (tested[0] if tested else {}).items()})
        with timer("serving"):
            serving = serving_latency(task.model, data.tables["test"], cfg.case, cfg.seed)
        record["metrics"].update({"serving/p50_ms": serving["p50_ms"], "serving/p99_ms": serving["p99_ms"]})
        record.update(
            status="finished", finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            objective={"metric": monitor, "mode": cfg.eval.mode, "value": best.get(monitor)},
            train_samples_per_s=throughput.samples_per_second, epochs=trainer.current_epoch,
            history=epochs, serving=serving, data=data.info, feature_spec=spec.to_dict(),
            parameters=sum(p.numel() for p in task.model.parameters()), machine=records.machine(),
            checkpoints={"best": checkpoint.best_model_path, "last": str(run_dir / "checkpoints" / "last.ckpt")},
            tracking=_finish_trackers(loggers, record["metrics"], throughput.samples_per_second),
        )  # fmt: skip
        records.write_json_atomic(run_dir / "run.json", record)
        print_summary(record)
        return float(best[monitor]) if monitor in best else float("nan")
    except BaseException as exc:
        if rank_zero:
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            records.write_json_atomic(run_dir / "run.json", record)
        raise


def _finish_trackers(loggers: list, metrics: dict[str, float], samples_per_s: float | None) -> dict[str, Any]:
    """Final figures into each tracker's summary; W&B runs are finished so the next multirun job gets its own."""
    info: dict[str, Any] = {}
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            import wandb

            run = logger.experiment
            run.summary.update({**metrics, "train_samples_per_s": samples_per_s})
            info.update(wandb_dir=str(Path(run.dir).parent), wandb_run_id=run.id, wandb_project=run.project)
            wandb.finish()
        elif hasattr(logger, "log_dir"):
            info["csv_dir"] = str(logger.log_dir)
    return info
