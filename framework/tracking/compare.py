"""From run records to one comparison per case: what scripts/compare.py runs, minus the argument parsing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from framework.tracking.comparison import CaseComparison, compare_case
from framework.tracking.registry import CompareError, duplicates_note, eval_metric_names, metric_directions, runs_frame


def build_comparisons(
    records: Sequence[dict[str, Any]],
    baseline: str | None = None,
    metric: str | None = None,
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[pl.DataFrame, list[CaseComparison], list[str]]:
    """The runs table, one comparison per case (in name order), and notes about dropped runs.

    `metric` (e.g. test/auroc) replaces the case's headline metric (default: its monitored metric).
    """
    if not 0.5 <= level < 1.0:
        raise CompareError(f"--level must be in [0.5, 1), got {level}.")
    frame, axes = runs_frame(records)
    directions = metric_directions(records)
    comparisons = []
    for case in sorted(axes):
        case_records = [r for r in records if str(r.get("case")) == case] or list(records)
        names = eval_metric_names(case_records[0])
        if metric is not None:
            wanted = metric if metric.startswith("test/") else f"test/{metric}"
            if wanted not in names:
                raise CompareError(f"--metric {metric} is not a metric of case {case}: {', '.join(names)}.")
            names = [wanted, *(n for n in names if n != wanted)]
        comparisons.append(compare_case(frame, case, axes[case], names, directions, baseline, level, n_resamples, seed))
    return frame, comparisons, duplicates_note(records, frame)


def default_out_dir(paths: Sequence[str | Path], output_root: str | Path) -> Path:
    """<the one directory given>/report, else <output root>/reports/<timestamp>."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0]) / "report"
    return Path(output_root) / "reports" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
