"""W&B runs read back as run records: the same shape as run.json, so a comparison treats them alike.

Each run's W&B summary holds what run.json holds beyond config and metrics (timings, choices,
parameters, objective, run_dir; written by `framework.tracking.wandb_runs.summary_fields`). Two sources:

- `fetch_project_runs(project)`: the W&B API (online runs; needs `wandb login` and network).
- `read_offline_run(dir)`: an offline run's files, read back with `wandb leet inspect` (no network).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from framework.compare.runs import CompareError
from framework.tracking.wandb_runs import RECORD_KEYS


def record_from_wandb(
    config: dict[str, Any],
    summary: dict[str, Any],
    *,
    run_id: str,
    group: str | None,
    job_type: str | None,
    state: str,
    location: str,
) -> dict[str, Any]:
    """A run record from a W&B run's config (nested, as logged) and summary."""
    config = {k: v for k, v in config.items() if not str(k).startswith("_")}  # _wandb: W&B's own
    metrics = {
        k: float(v)
        for k, v in summary.items()
        if "/" in k and not k.startswith("_") and isinstance(v, int | float) and not isinstance(v, bool)
    }
    record = {k: summary.get(k) for k in RECORD_KEYS}
    record.update(
        status="finished" if state == "finished" else state,
        case=(config.get("case") or {}).get("name") or group,
        model=job_type,
        seed=config.get("seed"),
        config=config,
        metrics=metrics,
        run_dir=summary.get("run_dir") or location,
        choices=summary.get("choices") or {},
        timings=summary.get("timings") or {},
        objective=summary.get("objective") or {},
        tracking={"wandb_run_id": run_id, "wandb_group": group, "location": location},
    )
    return record


def fetch_project_runs(project: str, entity: str | None = None) -> list[dict[str, Any]]:
    """Every run of a W&B project (online), as records. `project` may be "entity/project"."""
    import wandb

    path = project if "/" in project or entity is None else f"{entity}/{project}"
    try:
        runs = list(wandb.Api(timeout=30).runs(path))
    except Exception as exc:  # no login, no network, unknown project: all the user's to fix
        hint = "Log in with `wandb login` (or set WANDB_API_KEY), check the name, or compare local run directories."
        raise CompareError(f"could not read W&B project {path!r}: {exc}. {hint}") from exc
    return [
        record_from_wandb(
            dict(run.config),
            dict(run.summary_metrics),
            run_id=run.id,
            group=getattr(run, "group", None),
            job_type=getattr(run, "job_type", None),
            state=run.state,
            location=run.url,
        )
        for run in runs
    ]


def _leet(path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", *args, "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise CompareError(f"wandb leet inspect could not read {path}: {done.stderr.strip()[-500:]}")
    return done.stdout


def read_offline_run(path: str | Path) -> dict[str, Any]:
    """An offline run directory's config, summary, state, exit code, tags, group and job type."""
    path = Path(path)
    summary = json.loads(_leet(path, "--summary"))
    run = next(
        (r["run"] for r in map(json.loads, _leet(path).splitlines()) if r.get("type") == "run"), {}
    )  # the run record: group and job type are only here
    return {
        "run_id": summary.get("run_id") or run.get("run_id"),
        "name": summary.get("name"),
        "project": summary.get("project"),
        "group": run.get("run_group"),
        "job_type": run.get("job_type"),
        "tags": summary.get("tags") or run.get("tags") or [],
        "state": summary.get("state"),
        "exit_code": summary.get("exit_code"),
        "config": summary.get("config") or {},
        "summary": summary.get("summary") or {},
        "file": summary.get("file"),
    }


def record_from_offline_run(path: str | Path) -> dict[str, Any]:
    run = read_offline_run(path)
    return record_from_wandb(
        run["config"],
        run["summary"],
        run_id=run["run_id"],
        group=run["group"],
        job_type=run["job_type"],
        state=run["state"],
        location=str(path),
    )
