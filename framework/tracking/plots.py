"""The report's figures as PNG bytes (matplotlib, Agg backend: no display needed).

metric_bars: one panel per metric, a bar per choice (mean over seeds, error bar = std), coloured by
the verdict against the baseline. pareto: the headline metric against training time and against
serving latency, the Pareto front joined by a line.
"""

from __future__ import annotations

import io
import math

from framework.tracking.comparison import CaseComparison, ChoiceRow
from framework.tracking.registry import COSTS

COLOURS = {"baseline": "#4C72B0", "better": "#55A868", "worse": "#C44E52", "n.s.": "#A0A0A0", "differs": "#DD8452"}


def verdict(row: ChoiceRow, metric: str, comparison: CaseComparison) -> str:
    """baseline, better, worse, differs (significant, no better direction) or n.s. (not significant)."""
    if row.label == comparison.baseline:
        return "baseline"
    diff = row.diffs.get(metric)
    if diff is None or not diff.significant:
        return "n.s."
    direction = comparison.directions.get(metric)
    if direction is None:
        return "differs"
    return "better" if (diff.mean_diff > 0) == direction else "worse"


def arrow(direction: bool | None) -> str:
    return "↑" if direction else ("↓" if direction is False else "")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, whatever the environment's default backend
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def metric_bars(comparison: CaseComparison) -> bytes:
    plt = _pyplot()
    metrics = comparison.metrics
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    width = max(3.2, 0.55 * len(comparison.rows) + 1.2)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * width, rows * 3.1), squeeze=False)
    labels = [comparison.display(r.label) for r in comparison.rows]
    for ax, metric in zip(axes.flat, metrics, strict=False):
        cells = [r.values.get(metric) for r in comparison.rows]
        means = [c.mean if c else math.nan for c in cells]
        errors = [c.std if c and math.isfinite(c.std) else 0.0 for c in cells]
        colours = [COLOURS[verdict(r, metric, comparison)] for r in comparison.rows]
        ax.bar(range(len(labels)), means, yerr=errors, color=colours, capsize=3, edgecolor="black", linewidth=0.4)
        finite = [m - e for m, e in zip(means, errors, strict=True) if math.isfinite(m)]
        tops = [m + e for m, e in zip(means, errors, strict=True) if math.isfinite(m)]
        if finite:  # zoom in: differences between choices are small next to the metric's value
            pad = 0.15 * (max(tops) - min(finite) or abs(max(tops)) or 1.0)
            ax.set_ylim(min(finite) - pad, max(tops) + pad)
        ax.set_title(f"{metric} {arrow(comparison.directions.get(metric))}", fontsize=10)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    fig.suptitle(f"{comparison.case}: test metrics by {comparison.choice_name}, mean ± std over seeds", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.legend(handles, list(COLOURS), loc="lower center", ncol=len(COLOURS), fontsize=8, frameon=False,
               title=f"against the baseline, paired by seed ({comparison.level:.0%}: bootstrap and t-test agree)",
               title_fontsize=8)  # fmt: skip
    return _png(fig)


def pareto(comparison: CaseComparison) -> bytes | None:
    """Headline metric against each cost that the runs measured; None without a direction or costs."""
    plt = _pyplot()
    metric = comparison.headline
    costs = [c for c in ("cost/fit_s", "cost/p99_ms") if any(c in r.values for r in comparison.rows)]
    if comparison.directions.get(metric) is None or not costs:
        return None
    fig, axes = plt.subplots(1, len(costs), figsize=(6.2 * len(costs), 4.2), squeeze=False)
    for ax, cost in zip(axes.flat, costs, strict=True):
        rows = [r for r in comparison.rows if cost in r.values and metric in r.values]
        for r in rows:
            x, y = r.values[cost], r.values[metric]
            xerr = [[min(_err(x.std), 0.9 * x.mean)], [_err(x.std)]]  # stays positive on a log axis
            ax.errorbar(x.mean, y.mean, xerr=xerr, yerr=_err(y.std), fmt="o", capsize=3,
                        color=COLOURS["baseline"] if r.label == comparison.baseline else "#333333")  # fmt: skip
            name = comparison.display(r.label)
            ax.annotate(name, (x.mean, y.mean), textcoords="offset points", xytext=(5, 5), fontsize=8)
        front = sorted((r for r in rows if r.pareto.get(cost)), key=lambda r: r.values[cost].mean)
        if front:
            ax.step([r.values[cost].mean for r in front], [r.values[metric].mean for r in front], where="post",
                    color=COLOURS["better"], linewidth=1.5, label="Pareto front")  # fmt: skip
            ax.legend(fontsize=8, loc="best")
        xs = [r.values[cost].mean for r in rows]
        if xs and min(xs) > 0 and max(xs) / min(xs) > 10:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_xscale("log")  # costs span decades; plain numbers on the major ticks, none on the minor
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(COSTS[cost] + " (lower is better)")
        ax.set_ylabel(f"{metric} {arrow(comparison.directions.get(metric))}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{comparison.case}: quality against cost (mean ± std over seeds)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def _err(std: float) -> float:
    return std if math.isfinite(std) else 0.0
