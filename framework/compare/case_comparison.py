"""One case's comparison (`CaseComparison`): each choice's metrics and costs over seeds, its difference
to a baseline, the Pareto front of quality against cost. Pure data, built from the runs table of
`framework.compare.runs` by `framework.compare.build`, rendered by `framework.compare.report`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from framework.compare.columns import COSTS, lower_is_better_cost
from framework.compare.runs import Axes, CompareError
from framework.compare.stats import PairedComparison, paired_comparison


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float  # sample std over seeds; NaN with one seed
    n: int


@dataclass
class ChoiceRow:
    label: str
    seeds: list[int]
    values: dict[str, Cell]  # metric or cost column -> mean ± std over seeds
    diffs: dict[str, PairedComparison | None] = field(default_factory=dict)  # metric -> vs baseline
    pareto: dict[str, bool] = field(default_factory=dict)  # lower-is-better cost -> on the headline-vs-cost front


@dataclass
class CaseComparison:
    case: str
    axes: list[str]  # the varied keys (full names)
    baseline: str
    metrics: list[str]  # test/<name>, the headline first
    directions: dict[str, bool | None]  # metric -> higher is better (None: neither)
    rows: list[ChoiceRow]
    level: float
    costs: list[str] = field(default_factory=list)  # cost columns shown, in order (case.report.costs)
    settings: dict[str, str] = field(default_factory=dict)  # what the runs shared: dataset, rows, ...
    caveats: list[str] = field(default_factory=list)  # why the numbers may not decide (debug run, one seed)
    hidden: int = 0  # choices left out by --top
    sorted_by: str | None = None  # the metric rows are sorted by (--sort), best first

    @property
    def headline(self) -> str:
        return self.metrics[0]

    def row(self, label: str) -> ChoiceRow:
        return next(r for r in self.rows if r.label == label)

    @property
    def choice_name(self) -> str:
        """What to call a choice: the varied key when there is one (model), else "choice"."""
        return self.axes[0].rsplit(".", 1)[-1] if len(self.axes) == 1 else "choice"

    @property
    def pareto_costs(self) -> list[str]:
        """The lower-is-better costs: the axes of the Pareto front (throughput is not one)."""
        return [c for c in self.costs if lower_is_better_cost(c)]

    def best(self, metric: str) -> ChoiceRow | None:
        """The choice with the best mean on `metric`; None without a direction or values."""
        direction = self.directions.get(metric)
        rows = [r for r in self.rows if metric in r.values and math.isfinite(r.values[metric].mean)]
        if direction is None or not rows:
            return None
        return (max if direction else min)(rows, key=lambda r: r.values[metric].mean)

    def display(self, label: str) -> str:
        """A choice as tables and plots show it: the value alone when one key varies (lr, not model=lr)."""
        return label.split("=", 1)[1] if len(self.axes) == 1 and "=" in label else label


def pareto_front(points: Sequence[tuple[float, float]], higher_is_better: bool) -> list[bool]:
    """Which (cost, quality) points no other point beats: cost no higher and quality no worse, one strictly."""

    def beats(a: tuple[float, float], b: tuple[float, float]) -> bool:
        qa, qb = (a[1], b[1]) if higher_is_better else (-a[1], -b[1])
        return a[0] <= b[0] and qa >= qb and (a[0] < b[0] or qa > qb)

    finite = [all(math.isfinite(v) for v in p) for p in points]
    return [
        finite[i] and not any(finite[j] and beats(points[j], points[i]) for j in range(len(points)) if j != i)
        for i in range(len(points))
    ]


def pick_baseline(labels: list[str], axes: Axes, spec: str | None, case: str) -> str:
    """The choice named by `spec` ("model=lr", "embedding_dim=8", "lr"), or the first choice run."""
    if spec is None:
        return labels[0]
    wanted = [part.strip() for part in spec.split(",") if part.strip()]
    full = {axes.short[k]: k.removeprefix("choice:") for k in axes.keys}

    def names(short: str) -> set[str]:  # what a user may call an axis: short name, full key, any key suffix
        key = full.get(short, short)
        return {short, key, *(".".join(key.split(".")[-n:]) for n in range(1, key.count(".") + 2))}

    def matches(label: str) -> bool:
        parts = [tuple(p.split("=", 1)) for p in label.split(", ") if "=" in p]
        for item in wanted:
            key, sep, value = item.partition("=")
            if sep and not any(v == value and key in names(s) for s, v in parts):
                return False
            if not sep and not any(v == key for _, v in parts):
                return False
        return True

    found = [label for label in labels if label == spec or matches(label)]
    if len(found) != 1:
        problem = "matches no choice" if not found else f"matches {len(found)} choices"
        raise CompareError(f"--baseline {spec} {problem} of case {case}. Choices: {'; '.join(labels)}.")
    return found[0]


def compare_case(
    frame: pl.DataFrame,
    case: str,
    axes: Axes,
    metrics: list[str],
    directions: dict[str, bool | None],
    baseline: str | None = None,
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    costs: list[str] | None = None,
) -> CaseComparison:
    """Summarise one case of `runs.runs_frame`'s table; `baseline` is a --baseline spec or None; `costs`
    the cost columns to show (default: the standard ones)."""
    runs = frame.filter(pl.col("case") == case)
    metrics = [m for m in metrics if m in runs.columns]
    costs = [c for c in (COSTS if costs is None else costs) if c in runs.columns and c not in metrics]
    columns = [*metrics, *costs]
    summary = (
        runs.group_by("choice", maintain_order=True)
        .agg(
            pl.col("order").min().alias("_first"),
            pl.col("seed").sort().alias("_seeds"),
            *(pl.col(c).mean().alias(f"{c}|mean") for c in columns),
            *(pl.col(c).std(ddof=1).alias(f"{c}|std") for c in columns),
            *(pl.col(c).count().alias(f"{c}|n") for c in columns),
        )
        .sort("_first")
    )
    rows = []
    for s in summary.iter_rows(named=True):
        values = {
            c: Cell(_float(s[f"{c}|mean"]), _float(s[f"{c}|std"]), int(s[f"{c}|n"])) for c in columns if s[f"{c}|n"]
        }
        rows.append(ChoiceRow(s["choice"], list(s["_seeds"]), values))
    base = pick_baseline([r.label for r in rows], axes, baseline, case)
    per_seed = {
        (choice, m): dict(zip(sub["seed"].to_list(), sub[m].to_list(), strict=True))
        for (choice,), sub in runs.group_by("choice")
        for m in metrics
    }
    for row in rows:
        for m in metrics:
            if row.label != base:
                row.diffs[m] = paired_comparison(
                    per_seed[(base, m)], per_seed[(row.label, m)], level, n_resamples, seed
                )
    headline = metrics[0] if metrics else None
    if headline is not None and directions.get(headline) is not None:
        for cost in (c for c in costs if lower_is_better_cost(c)):
            points = [(_mean(r, cost), _mean(r, headline)) for r in rows]
            for row, on in zip(rows, pareto_front(points, bool(directions[headline])), strict=True):
                row.pareto[cost] = on
    axis_names = [k.removeprefix("choice:") for k in axes.keys]
    return CaseComparison(case, axis_names, base, metrics, directions, rows, level, costs)


def sort_and_top(comparison: CaseComparison, metric: str | None, top: int | None) -> None:
    """Order the choices best first on `metric` (kept in run order without one) and keep the first `top`;
    the baseline always stays, since every difference is to it."""
    if metric is not None:
        direction = comparison.directions.get(metric)
        if direction is None:
            raise CompareError(f"--sort {metric}: neither direction of this metric is better; sort by another.")

        def key(r: ChoiceRow) -> float:
            value = r.values[metric].mean if metric in r.values else math.nan
            return math.inf if not math.isfinite(value) else (-value if direction else value)

        comparison.rows.sort(key=key)
        comparison.sorted_by = metric
    if top is not None and top < len(comparison.rows):
        kept = comparison.rows[:top]
        if comparison.baseline not in {r.label for r in kept}:
            kept.append(comparison.row(comparison.baseline))
        comparison.hidden = len(comparison.rows) - len(kept)
        comparison.rows = kept


def _mean(row: ChoiceRow, column: str) -> float:
    cell = row.values.get(column)
    return cell.mean if cell is not None else math.nan


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)
