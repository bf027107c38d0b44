"""From run records to one `CaseComparison` per case: what scripts/compare.py runs between reading the
records (`runs`) and rendering them (`report`), minus the argument parsing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from framework.compare.case_comparison import CaseComparison, ChoiceRow, compare_case, sort_and_top
from framework.compare.columns import report_spec
from framework.compare.runs import (
    CompareError,
    case_name,
    duplicates_note,
    eval_metric_names,
    metric_directions,
    report_metric_names,
    runs_frame,
)
from framework.compare.settings import caveats, fixed_settings


def build_comparisons(
    records: Sequence[dict[str, Any]],
    baseline: str | None = None,
    metric: str | None = None,
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    sort: str | None = None,
    top: int | None = None,
) -> tuple[pl.DataFrame, list[CaseComparison], list[str]]:
    """The runs table, one comparison per case (in name order), and notes about dropped runs.

    `metric` (e.g. auroc, test/auroc, index/recall@100) replaces the case's headline metric (default: its
    monitored metric); `sort` orders the choices best first by a metric, `top` keeps the first N.
    """
    if not 0.5 <= level < 1.0:
        raise CompareError(f"--level must be in [0.5, 1), got {level}.")
    if top is not None and top < 1:
        raise CompareError(f"--top must be at least 1, got {top}.")
    frame, axes = runs_frame(records)
    directions = metric_directions(records)
    comparisons = []
    for case in sorted(axes):
        case_records = [r for r in records if case_name(r) == case] or list(records)
        names = report_metric_names(case_records[0])
        if metric is not None:
            wanted = resolve_metric(metric, names, case, "--metric")
            names = [wanted, *(n for n in names if n != wanted)]
        elif len(names) > 1:  # the headline, then the case's own metrics, then the rest of the suite
            suite = set(eval_metric_names(case_records[0]))
            names = [names[0], *(n for n in names[1:] if n not in suite), *(n for n in names[1:] if n in suite)]
        costs = report_spec(case_records).cost_columns(c for c in frame.columns if c not in names)
        c = compare_case(frame, case, axes[case], names, directions, baseline, level, n_resamples, seed, costs)
        c.settings = fixed_settings(case_records)
        c.caveats = caveats(case_records, max((_paired(c, r) for r in c.rows if r.label != c.baseline), default=0))
        sort_and_top(c, None if sort is None else resolve_metric(sort, c.metrics, case, "--sort"), top)
        comparisons.append(c)
    return frame, comparisons, duplicates_note(records, frame)


def resolve_metric(name: str, names: Sequence[str], case: str, option: str) -> str:
    """auroc -> test/auroc; a full name (index/recall@100) as it is; else a clear error."""
    for wanted in (name, f"test/{name}"):
        if wanted in names:
            return wanted
    raise CompareError(f"{option} {name} is not a metric of case {case}: {', '.join(names)}.")


def _paired(comparison: CaseComparison, row: ChoiceRow) -> int:
    return len(set(row.seeds) & set(comparison.row(comparison.baseline).seeds))


def default_out_dir(paths: Sequence[str | Path], output_root: str | Path) -> Path:
    """<the one directory given>/report, else <output root>/reports/<timestamp>."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0]) / "report"
    return Path(output_root) / "reports" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
