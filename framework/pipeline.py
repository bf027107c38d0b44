"""run(cfg): one experiment from a validated config to run.json. The steps and nothing else.

1. resolve the run directory, check resume, seed; print the design card; run.json (status running)
2. import-time checks of every `_target_`; build the eval suite's metrics and the trackers
3. the case's task kind (`framework.tasks.KINDS`): its recipe reads and checks the data (before any
   tracker starts: a bad file is one message), then trains and evaluates: model -> fit/test -> serving
4. run.json (config, metrics, timings, versions, git revision) atomically; a summary table
5. return the eval suite's monitored metric (what sweeps optimise)
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from framework.errors import ConfigError


def _run_dir_and_choices() -> tuple[Path, dict[str, str]]:
    if HydraConfig.initialized():
        hc = HydraConfig.get()
        return Path(hc.runtime.output_dir), {k: str(v) for k, v in hc.runtime.choices.items() if v is not None}
    return Path(os.getcwd()), {}


def _multirun_job() -> tuple[int, list[str]] | None:
    """(job number, its overrides) when this run is a job of a multirun or sweep, else None."""
    if not HydraConfig.initialized():
        return None
    from hydra.types import RunMode

    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return None
    return int(hc.job.num), [o for o in hc.overrides.task if not o.startswith("hydra.")]


def _quiet_lightning() -> None:
    """Lightning's INFO lines (GPU/TPU available, a tip, checkpoint restored) on every run and job say
    nothing the summary does not: warnings and errors still show."""
    import logging

    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _is_rank_zero() -> bool:
    """Before the Trainer exists: DDP launchers set these variables in every process they start."""
    return all(os.environ.get(v, "0") == "0" for v in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))


def check_resume(cfg: DictConfig, run_dir: Path) -> bool:
    """resume=true needs a checkpoint in the run dir; a fresh run must not overwrite one.
    (A run of several stages keeps one checkpoint folder per stage: checkpoints/<stage>/last.ckpt.)"""
    lasts = sorted((run_dir / "checkpoints").glob("**/last.ckpt")) if (run_dir / "checkpoints").is_dir() else []
    last = lasts[0] if lasts else run_dir / "checkpoints" / "last.ckpt"
    if cfg.resume and not last.exists():
        raise ConfigError(
            f"resume=true, but {last} does not exist. Resume with the killed run's own directory: "
            f"python run.py <same arguments> resume=true hydra.run.dir=<that run's directory>."
        )
    if not cfg.resume and last.exists():
        raise ConfigError(
            f"{run_dir} already holds a run (checkpoints/last.ckpt). Add resume=true to continue it, "
            f"or pick another hydra.run.dir to start afresh."
        )
    return bool(cfg.resume)


def run(cfg: DictConfig, callbacks: list | None = None, record_extra: dict[str, Any] | None = None) -> float:
    """Run one experiment; `callbacks` are extra Lightning callbacks (a sweep's pruning callback),
    `record_extra` more fields for run.json (a sweep's study, trial number and parameters)."""
    from framework.timing import PhaseTimer

    timer = PhaseTimer()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    run_dir, choices = _run_dir_and_choices()
    rank_zero = _is_rank_zero()
    job = _multirun_job()
    model_name = choices.get("model", str(cfg.model._target_).rsplit(".", 1)[-1])
    hardware = choices.get("hardware", str(cfg.trainer.accelerator))
    monitor = f"val/{cfg.eval.monitor}"

    with timer("setup"):
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
        import lightning.pytorch as L

        _quiet_lightning()
        from framework.metrics.suite import build_metrics
        from framework.tracking import records
        from framework.tracking.loggers import build_loggers
        from framework.tracking.summary import print_design_card, print_job_line, print_summary
        from framework.training.loop import RunContext
        from framework.validation import case_kind, check_data_fits_case, check_hardware, validate_targets

        validate_targets(cfg)
        check_hardware(cfg)
        check_data_fits_case(cfg)
        resume = check_resume(cfg, run_dir)
        metrics = build_metrics(cfg.eval)
        # a replay with a retraining strategy (framework/monitoring) stands in for the kind's own recipe
        replay = cfg.get("retraining") is not None
        recipe = importlib.import_module("framework.monitoring.recipe" if replay else case_kind(cfg).recipe)
        L.seed_everything(cfg.seed, workers=True, verbose=False)

    resolved = OmegaConf.to_container(cfg, resolve=True)
    record: dict[str, Any] = {
        "status": "running",
        "case": cfg.case.name,
        "model": model_name,
        "dataset": cfg.dataset.name,
        "hardware": hardware,
        "seed": cfg.seed,
        "run_dir": str(run_dir.resolve()),
        "started_at": started,
        "resumed": resume,
        "objective": {"metric": monitor, "mode": cfg.eval.mode, "value": None},
        "metrics": {},
        "timings": timer.seconds,
        "choices": choices,
        "config": resolved,
        "versions": records.versions(),
        "git": records.git_revision(Path(__file__).parent),
        **(record_extra or {}),
    }
    if rank_zero:
        print_design_card(cfg.case, model_name, str(cfg.dataset.name), once=job is not None)
        records.write_json_atomic(run_dir / "run.json", record)
        (run_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    loggers: list = []
    try:
        with timer("data"):
            data = recipe.load_data(cfg)
        tags = [f"dataset:{cfg.dataset.name}", f"hardware:{hardware}", *cfg.tags]
        loggers = build_loggers(
            cfg.logger,
            run_dir,
            name=f"{cfg.case.name}-{model_name}-seed{cfg.seed}",
            group=str(cfg.logger.group or cfg.case.name),
            job_type=model_name,
            tags=tags,
            config=resolved,
            rank_zero=rank_zero,
        )
        ctx = RunContext(
            cfg, run_dir, timer, rank_zero, model_name, resume, loggers, list(callbacks or []), verbose=job is None
        )
        outcome = recipe.run_case(ctx, data, metrics)
        if outcome is None:  # a non-zero DDP rank: rank zero records the run
            _leave_process_group()
            return float("nan")
        objective = outcome.objective
        record.update(outcome.record_fields())
        record.update(
            status="finished",
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            objective={"metric": monitor, "mode": cfg.eval.mode, "value": objective},
            machine=records.machine(),
        )
        record["tracking"] = _finish_trackers(loggers, record)
        record["plots"] = _plot_history(record, run_dir)
        records.write_json_atomic(run_dir / "run.json", record)
        if job is None:
            print_summary(record, metric_table=not outcome.reported)
        else:
            print_job_line(record, *job)
        _leave_process_group()
        return float("nan") if objective is None else float(objective)
    except BaseException as exc:
        if rank_zero:
            record.update(status=_failure_status(exc), error=f"{type(exc).__name__}: {exc}")
            records.write_json_atomic(run_dir / "run.json", record)
            _abort_trackers(loggers, record["status"])
        raise


def _plot_history(record: dict[str, Any], run_dir: Path) -> dict[str, str]:
    from framework.tracking.history_plot import plot_history

    path = plot_history(record, run_dir / "plots" / "history.png")
    return {"history": str(path)} if path else {}


def _failure_status(exc: BaseException) -> str:
    """'pruned' when a sweep's pruner stopped the run (only sweeps import optuna), else 'failed'."""
    optuna = sys.modules.get("optuna")
    return "pruned" if optuna is not None and isinstance(exc, optuna.TrialPruned) else "failed"


def _leave_process_group() -> None:
    """Under DDP, every rank waits until rank zero has recorded the run, then all leave together:
    a rank that exits first resets the others' connections mid-collective."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _finish_trackers(loggers: list, record: dict[str, Any]) -> dict[str, Any]:
    """Final figures into each tracker's summary (metrics plus the run.json fields a W&B-only reader needs:
    timings, choices, run_dir, ...); W&B runs are finished so the next multirun job gets its own."""
    info: dict[str, Any] = {}
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            import wandb

            from framework.tracking.wandb_runs import summary_fields

            run = logger.experiment
            run.summary.update({**record["metrics"], **summary_fields(record)})
            info.update(
                wandb_dir=str(Path(run.dir).parent),
                wandb_run_id=run.id,
                wandb_project=run.project,
                wandb_group=run.group,
                wandb_mode=str(run.settings.mode),
            )
            if info["wandb_mode"] not in ("offline", "dryrun", "disabled"):  # no URL offline (asking warns)
                info["wandb_url"] = run.url
            wandb.finish()
        elif hasattr(logger, "log_dir"):
            info["csv_dir"] = str(logger.log_dir)
    return info


def _abort_trackers(loggers: list, status: str) -> None:
    """A run that stopped early ends its W&B run now, with its status in the summary: exit code 0 when a
    sweep's pruner stopped it, 1 when it failed. Left open, the next job of a multirun (or the next trial
    of a sweep) would log into it: Lightning's WandbLogger reuses an active run."""
    if any(type(logger).__name__ == "WandbLogger" for logger in loggers):
        import wandb

        if wandb.run is not None:
            wandb.run.summary["status"] = status
            wandb.finish(exit_code=0 if status == "pruned" else 1)
