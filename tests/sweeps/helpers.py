"""Shared pieces of the sweep tests: tiny trials, a sweep config written for a test, reading a study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna

# Trials of a few batches on 2,000 synthetic rows; serving latency over 2 requests of 20 candidates.
TINY = (
    "debug=fast",
    "dataset.max_rows=2000",
    "trainer.enable_progress_bar=false",
    "case.serving.latency_requests=2",
    "case.serving.candidates_per_request=20",
)


def write_sweep(config_dir: Path, name: str, params: str, extra: str = "") -> None:
    """conf-style sweep file `<config_dir>/sweep/<name>.yaml` (used with --config-dir <config_dir>)."""
    (config_dir / "sweep").mkdir(parents=True, exist_ok=True)
    (config_dir / "sweep" / f"{name}.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - /sweep_defaults@sweep\n  - override /hydra/sweeper: mlsd\n"
        f"sweep:\n  params:\n{params}{extra}"
    )


def load_study(study_dir: Path, name: str, url: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url or f"sqlite:///{study_dir / 'study.db'}")


def summary(study_dir: Path) -> dict[str, Any]:
    return json.loads((study_dir / "summary.json").read_text())


def states(study: optuna.Study) -> dict[int, str]:
    return {t.number: t.state.name for t in study.trials}
