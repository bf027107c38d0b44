"""Experiment trackers for Lightning: W&B (offline unless asked), CSV, or none."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from omegaconf import DictConfig


def wandb_run_id(run_dir: Path) -> str:
    """The run's W&B id, kept in the run directory so a resumed run continues the same W&B run."""
    path = run_dir / "wandb_id.txt"
    if path.exists():
        return path.read_text().strip()
    run_id = uuid.uuid4().hex[:12]
    path.write_text(run_id + "\n")
    return run_id


def build_loggers(
    cfg: DictConfig,
    run_dir: Path,
    name: str,
    group: str,
    job_type: str,
    tags: list[str],
    config: dict[str, Any],
    rank_zero: bool,
) -> list:
    """Lightning loggers for `cfg` (the `logger` node)."""
    if cfg.kind == "none":
        return []
    if cfg.kind == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return [CSVLogger(save_dir=str(run_dir), name="csv")]
    import wandb
    from lightning.pytorch.loggers import WandbLogger

    run_id = wandb_run_id(run_dir) if rank_zero else None
    # The mode goes to wandb.init itself: it beats a WANDB_MODE left in the environment (Lightning's
    # offline=True sets WANDB_MODE=dryrun for the whole process, which would pin later runs offline).
    logger = WandbLogger(
        project=cfg.project,
        entity=cfg.entity,
        save_dir=str(run_dir),
        name=name,
        group=group,
        job_type=job_type,
        tags=tags,
        config=config,
        id=run_id,
        resume="allow",
        mode=cfg.mode,
        # W&B's own ~30 lines per run (banner, sync hints, history sparklines) would drown a multirun;
        # the run summary says where the W&B run is and how to upload it.
        settings=wandb.Settings(silent=True),
    )
    # Lightning passes anonymous=None to wandb.init, which wandb >= 0.19 answers with "The anonymous
    # setting has no effect and will be removed" on every run: the setting does nothing, leave it out.
    logger._wandb_init.pop("anonymous", None)
    if rank_zero:  # start the W&B run now: a missing login stops the run before data and training
        _start(logger, cfg.mode)
    return [logger]


def _start(logger: Any, mode: str) -> None:
    import wandb

    try:
        logger.experiment  # noqa: B018 - the property starts the run
    except (wandb.errors.UsageError, wandb.errors.AuthenticationError, wandb.errors.CommError) as exc:
        if mode != "online":
            raise
        from framework.errors import ConfigError

        raise ConfigError(
            f"logger.mode=online, but W&B could not start the run: {exc} Log in once with `wandb login` "
            f"(or set WANDB_API_KEY), or leave logger.mode=offline and upload later with `wandb sync`."
        ) from exc
