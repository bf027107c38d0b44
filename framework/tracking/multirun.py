"""A multirun's terminal output: one line per job, and a closing line that says what to run next.

Hydra's basic launcher logs each job's overrides before it runs (`#3 : model=fm seed=1`); our job line
at the end says the same plus the result, so `JobLineFilter` drops Hydra's (conf/run.yaml wires it into
hydra.hydra_logging). `MultirunSummary` is a Hydra callback: after the last job it counts the runs and
prints the compare command.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class JobLineFilter(logging.Filter):
    """Drops the basic launcher's per-job lines ("\\t#3 : model=fm seed=1"); keeps "Launching N jobs"."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).lstrip().startswith("#")


class MultirunSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if config.get("sweep") is not None:
            return  # a sweep prints its own summary (framework.sweeps.report)
        from rich.console import Console
        from rich.markup import escape

        sweep_dir = Path(str(config.hydra.sweep.dir))
        records = list(sweep_dir.glob("*/run.json")) if sweep_dir.is_dir() else []
        finished = sum(json.loads(p.read_text()).get("status") == "finished" for p in records)
        failed = len(records) - finished
        done = f"{finished} run(s) finished" + (f", {failed} failed" if failed else "")
        Console(highlight=False, soft_wrap=True).print(
            f"[bold]multirun[/] {done} in {escape(str(sweep_dir))} · compare them: "
            f"python scripts/compare.py {escape(str(sweep_dir))}"
        )
