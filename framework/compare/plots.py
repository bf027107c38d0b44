"""The report's figures as PNG bytes (matplotlib, Agg backend: no display needed).

metric_bars: one panel per metric, a bar per choice from zero (mean over seeds, error bar = std),
coloured by the verdict against the baseline; calibration against its ideal, 1. differences: each
choice's difference to the baseline with its interval, per metric (where small differences are seen
at their true size). pareto: the headline metric against each cost of the case, the front joined by a
line. Legends list only what a figure draws.
"""

from __future__ import annotations

import io
import math

from framework.compare.case_comparison import CaseComparison, ChoiceRow
from framework.compare.columns import cost_label

COLOURS = {
    "baseline": "#4C72B0",
    "better": "#55A868",
    "worse": "#C44E52",
    "differs": "#DD8452",
    "n.s.": "#A0A0A0",
    "n/a": "#D9D9D9",
}


def verdict(row: ChoiceRow, metric: str, comparison: CaseComparison) -> str:
    """baseline, better, worse, differs (significant, no better direction), n.s. (not significant) or n/a
    (fewer than two seeds paired with the baseline: not tested)."""
    if row.label == comparison.baseline:
        return "baseline"
    diff = row.diffs.get(metric)
    if diff is None:
        return "n/a"
    if not diff.significant:
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


def _legend_title(comparison: CaseComparison, drawn: set[str]) -> str:
    title = f"against the baseline, paired by seed ({comparison.level:.0%}: bootstrap and t-test agree)"
    return title + ("; n/a: under two paired seeds, not tested" if "n/a" in drawn else "")


def _is_calibration(metric: str) -> bool:
    """Predicted / observed rate: 1 is ideal (CalibrationRatio has no better direction)."""
    return "calibration" in metric.rsplit("/", 1)[-1]


def metric_bars(comparison: CaseComparison) -> bytes:
    plt = _pyplot()
    metrics = comparison.metrics
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    width = max(3.4, 0.55 * len(comparison.rows) + 1.4)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * width, rows * 3.3), squeeze=False)
    labels = [comparison.display(r.label) for r in comparison.rows]
    drawn: set[str] = set()
    reference = False
    for ax, metric in zip(axes.flat, metrics, strict=False):
        cells = [r.values.get(metric) for r in comparison.rows]
        means = [c.mean if c else math.nan for c in cells]
        errors = [c.std if c and math.isfinite(c.std) else 0.0 for c in cells]
        verdicts = [verdict(r, metric, comparison) for r in comparison.rows]
        drawn.update(v for v, m in zip(verdicts, means, strict=True) if math.isfinite(m))
        colours = [COLOURS[v] for v in verdicts]
        ax.bar(range(len(labels)), means, yerr=errors, color=colours, capsize=3, edgecolor="black", linewidth=0.4)
        ax.axhline(0, color="black", linewidth=0.6)  # bars start at zero: their lengths compare
        if _is_calibration(metric):
            ax.axhline(1, color="black", linestyle="--", linewidth=1)
            reference = True
        ax.set_title(f"{metric} {arrow(comparison.directions.get(metric))}".strip(), fontsize=10)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    kinds = [k for k in COLOURS if k in drawn]
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[k]) for k in kinds]
    names = list(kinds)
    if reference:
        handles.append(plt.Line2D([], [], color="black", linestyle="--"))
        names.append("calibration: 1 is ideal")
    fig.suptitle(f"{comparison.case}: metrics by {comparison.choice_name}, mean ± std over seeds", fontsize=11)
    return _with_legend(fig, handles, names, _legend_title(comparison, drawn), bottom=0.07)


def differences(comparison: CaseComparison) -> bytes | None:
    """Each choice minus the baseline with its interval, one panel per metric; None when nothing was tested."""
    metrics = [m for m in comparison.metrics if any(r.diffs.get(m) for r in comparison.rows)]
    if not metrics:
        return None
    plt = _pyplot()
    others = [r for r in comparison.rows if r.label != comparison.baseline]
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 4.2, rows * (0.35 * len(others) + 1.6)), squeeze=False)
    drawn: set[str] = set()
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for y, row in enumerate(others):
            diff = row.diffs.get(metric)
            if diff is None:
                continue
            kind = verdict(row, metric, comparison)
            drawn.add(kind)
            low, high = diff.mean_diff - diff.ci_low, diff.ci_high - diff.mean_diff
            ax.errorbar(diff.mean_diff, y, xerr=[[low], [high]], fmt="o", color=COLOURS[kind], capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(others)), [comparison.display(r.label) for r in others], fontsize=8)
        ax.set_ylim(len(others) - 0.5, -0.5)
        ax.set_title(f"Δ {metric} {arrow(comparison.directions.get(metric))}".strip(), fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    kinds = [k for k in COLOURS if k in drawn]
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=COLOURS[k]) for k in kinds]
    fig.suptitle(
        f"{comparison.case}: difference to {comparison.display(comparison.baseline)}, "
        f"{comparison.level:.0%} paired bootstrap interval",
        fontsize=11,
    )
    return _with_legend(fig, handles, kinds, _legend_title(comparison, drawn), bottom=0.08)


def _with_legend(fig, handles: list, names: list[str], title: str, bottom: float) -> bytes:
    """The figure as PNG, with one legend row of what was drawn below the panels."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.legend(
        handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False, title=title, title_fontsize=8
    )
    return _png(fig)


def _spread_labels(ax, annotations: list) -> None:
    """Move labels that overlap another one down, a line at a time (few points: a simple pass does)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed = []
    for annotation in sorted(annotations, key=lambda a: (-a.xy[1], a.xy[0])):
        box = annotation.get_window_extent(renderer)
        offset = 0
        while any(box.translated(0, -offset).overlaps(other) for other in placed) and offset < 400:
            offset += box.height
        if offset:
            x, y = annotation.xyann  # in offset points
            annotation.xyann = (x, y - offset * 72 / fig.dpi)
        placed.append(box.translated(0, -offset))


def pareto(comparison: CaseComparison) -> bytes | None:
    """Headline metric against each lower-is-better cost the runs measured; None without a direction or costs."""
    plt = _pyplot()
    metric = comparison.headline
    costs = [c for c in comparison.pareto_costs if any(c in r.values for r in comparison.rows)]
    if comparison.directions.get(metric) is None or not costs:
        return None
    fig, axes = plt.subplots(1, len(costs), figsize=(5.2 * len(costs), 4.2), squeeze=False)
    for ax, cost in zip(axes.flat, costs, strict=True):
        rows = [r for r in comparison.rows if cost in r.values and metric in r.values]
        notes = []
        for r in rows:
            x, y = r.values[cost], r.values[metric]
            xerr = [[min(_err(x.std), 0.9 * x.mean)], [_err(x.std)]]  # stays positive on a log axis
            base = r.label == comparison.baseline
            ax.errorbar(
                x.mean,
                y.mean,
                xerr=xerr,
                yerr=_err(y.std),
                fmt="o",
                capsize=3,
                color=COLOURS["baseline"] if base else "#333333",
            )
            name = comparison.display(r.label) + (" (baseline)" if base else "")
            notes.append(ax.annotate(name, (x.mean, y.mean), textcoords="offset points", xytext=(5, 5), fontsize=8))
        front = sorted((r for r in rows if r.pareto.get(cost)), key=lambda r: r.values[cost].mean)
        if front:  # ringed points joined by a step: visible even when one choice is the whole front
            ax.plot(
                [r.values[cost].mean for r in front],
                [r.values[metric].mean for r in front],
                drawstyle="steps-post",
                marker="o",
                markersize=12,
                markerfacecolor="none",
                color=COLOURS["better"],
                linewidth=1.5,
                label="Pareto front",
            )
            ax.legend(fontsize=8, loc="best")
        xs = [r.values[cost].mean for r in rows]
        if xs and min(xs) > 0 and max(xs) / min(xs) > 10:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_xscale("log")  # costs span decades; plain numbers on the major ticks, none on the minor
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _short_number(v)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(cost_label(cost) + " (lower is better)")
        ax.set_ylabel(f"{metric} {arrow(comparison.directions.get(metric))}")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        _spread_labels(ax, notes)
    fig.suptitle(f"{comparison.case}: quality against cost (mean ± std over seeds)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def _short_number(value: float) -> str:
    """2k, 500k, 1.5M: tick labels that do not run into each other."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _err(std: float) -> float:
    return std if math.isfinite(std) else 0.0
