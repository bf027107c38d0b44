"""Experiment trackers for Lightning: W&B (offline unless asked), CSV, or none."""

from __future__ import annotations

import os
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
    from lightning.pytorch.loggers import WandbLogger

    if cfg.mode == "offline":
        os.environ.setdefault("WANDB_MODE", "offline")
    run_id = wandb_run_id(run_dir) if rank_zero else None
    return [
        WandbLogger(
            project=cfg.project,
            entity=cfg.entity,
            save_dir=str(run_dir),
            offline=cfg.mode == "offline",
            name=name,
            group=group,
            job_type=job_type,
            tags=tags,
            config=config,
            id=run_id,
            resume="allow",
        )
    ]
