"""A case comparison as text: its tables as rows of strings, its verdict and its settings as sentences.

Built once here, laid out by `framework.compare.report` for the terminal, Markdown and HTML. Cells and
sentences use two Markdown marks that every renderer translates: `**bold**` (a column's winner, the
verdict's choice) and `` `code` `` (names of metrics and keys).
"""

from __future__ import annotations

import math

from framework.compare.case_comparison import CaseComparison, Cell, ChoiceRow
from framework.compare.columns import lower_is_better_cost
from framework.compare.plots import arrow, verdict
from framework.compare.stats import PairedComparison

COST_HEADERS = {
    "cost/fit_s": "train s",
    "cost/samples_per_s": "samples/s",
    "cost/p99_ms": "p99 ms",
    "cost/parameters": "params",
    "cost/train_rows": "train rows",
}
FRONT_NAMES = {"cost/fit_s": "time", "cost/p99_ms": "latency", "cost/parameters": "size", "cost/train_rows": "rows"}
Table = tuple[list[str], list[list[str]]]


def cost_header(column: str) -> str:
    """train s, p99 ms; serving/stage1_p99_ms -> stage1 p99 ms; timings/index -> index s."""
    if column in COST_HEADERS:
        return COST_HEADERS[column]
    if column.startswith("timings/"):
        return column.removeprefix("timings/") + " s"
    leaf = column.rsplit("/", 1)[-1]
    return leaf.removesuffix("_ms").replace("_", " ") + " ms" if leaf.endswith("_ms") else leaf


def _seconds_like(column: str) -> bool:
    return column in ("cost/fit_s", "cost/p99_ms") or column.startswith("timings/") or column.endswith(("_ms", "_s"))


def _number(column: str, value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if column == "cost/parameters":
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}k" if value >= 1e3 else f"{value:.0f}"
    if column in ("cost/samples_per_s", "cost/train_rows"):
        return f"{value:,.0f}"
    if _seconds_like(column):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return f"{value:.4f}"


def format_cell(column: str, cell: Cell | None) -> str:
    """ "0.7512 ± 0.0021" (mean ± sample std over seeds); the mean alone for one seed."""
    if cell is None:
        return "—"
    if cell.n < 2 or not math.isfinite(cell.std) or column == "cost/parameters":
        return _number(column, cell.mean)
    return f"{_number(column, cell.mean)} ± {_number(column, cell.std)}"


def format_diff(diff: PairedComparison | None, verdict: str, sep: str = " ") -> str:
    """ "-0.0123 worse [-0.0150, -0.0101] p=0.004"; "n/a" under two paired seeds. `sep` joins the parts."""
    if diff is None:
        return "n/a"
    interval = f"[{diff.ci_low:+.4f}, {diff.ci_high:+.4f}]"
    return sep.join((f"{diff.mean_diff:+.4f} {verdict}", interval, _p(diff.p_value)))


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def metric_name(metric: str) -> str:
    return metric.removeprefix("test/")


def metric_header(comparison: CaseComparison, metric: str) -> str:
    return f"{metric_name(metric)} {arrow(comparison.directions.get(metric))}".strip()


def choice_cell(comparison: CaseComparison, label: str) -> str:
    shown = comparison.display(label)
    return f"{shown} (baseline)" if label == comparison.baseline else shown


def winners(comparison: CaseComparison, column: str, higher_is_better: bool | None) -> set[str]:
    """The choices with the best mean in a column (ties share it); none when all are equal or one ran."""
    means = {r.label: r.values[column].mean for r in comparison.rows if column in r.values}
    means = {k: v for k, v in means.items() if math.isfinite(v)}
    if higher_is_better is None or len(set(means.values())) < 2:
        return set()
    best = (max if higher_is_better else min)(means.values())
    return {label for label, v in means.items() if v == best}


def _bold_if(text: str, on: bool) -> str:
    return f"**{text}**" if on and text != "—" else text


def metrics_table(comparison: CaseComparison) -> Table:
    """Choice, seeds, one column per metric (mean ± std); each metric's best mean in bold."""
    headers = [comparison.choice_name, "seeds", *(metric_header(comparison, m) for m in comparison.metrics)]
    best = {m: winners(comparison, m, comparison.directions.get(m)) for m in comparison.metrics}
    rows = [
        [
            choice_cell(comparison, r.label),
            str(len(r.seeds)),
            *(_bold_if(format_cell(m, r.values.get(m)), r.label in best[m]) for m in comparison.metrics),
        ]
        for r in comparison.rows
    ]
    return headers, rows


def costs_table(comparison: CaseComparison) -> Table:
    """Choice, one column per cost (the cheapest in bold), and the Pareto fronts the choice is on."""
    costs = [c for c in comparison.costs if any(c in r.values for r in comparison.rows)]
    best = {c: winners(comparison, c, not lower_is_better_cost(c)) for c in costs}
    headers = [comparison.choice_name, *(cost_header(c) for c in costs), "Pareto front"]
    rows = []
    for r in comparison.rows:
        on = ", ".join(front_name(c) for c in comparison.pareto_costs if r.pareto.get(c)) or "—"
        cells = [_bold_if(format_cell(c, r.values.get(c)), r.label in best[c]) for c in costs]
        rows.append([choice_cell(comparison, r.label), *cells, on])
    return headers, rows


def front_name(cost: str) -> str:
    return FRONT_NAMES.get(cost, cost_header(cost))


def diff_table(comparison: CaseComparison, sep: str = " ") -> Table:
    """Choice, paired seeds, one Δ column per metric: difference, verdict, interval, p-value."""
    headers = [
        comparison.choice_name,
        "paired seeds",
        *(f"Δ {metric_header(comparison, m)}" for m in comparison.metrics),
    ]
    rows = []
    for r in comparison.rows:
        if r.label == comparison.baseline:
            continue
        cells = [format_diff(r.diffs.get(m), verdict(r, m, comparison), sep) for m in comparison.metrics]
        rows.append([choice_cell(comparison, r.label), str(paired_seeds(comparison, r)), *cells])
    return headers, rows


def paired_seeds(comparison: CaseComparison, row: ChoiceRow) -> int:
    return len(set(row.seeds) & set(comparison.row(comparison.baseline).seeds))


def split_columns(table: Table, keep: int, per_table: int) -> list[Table]:
    """The table as several, each with the first `keep` columns and at most `per_table` of the others."""
    headers, rows = table
    rest = range(keep, len(headers))
    chunks = [list(rest[i : i + per_table]) for i in range(0, len(rest), per_table)] or [[]]
    pick = lambda row, chunk: row[:keep] + [row[i] for i in chunk]  # noqa: E731
    return [(pick(headers, chunk), [pick(row, chunk) for row in rows]) for chunk in chunks]


def _diff_words(diff: PairedComparison, level: float) -> str:
    return f"{diff.mean_diff:+.4f} [{level:.0%} CI {diff.ci_low:+.4f}, {diff.ci_high:+.4f}], {_p(diff.p_value)}"


def _judged(row: ChoiceRow, comparison: CaseComparison, metric: str) -> str:
    """The end of a verdict sentence: significantly better/worse, not significant, or not judged."""
    diff = row.diffs.get(metric)
    if diff is None:
        return "with fewer than two seeds in common with the baseline, no difference can be judged."
    word = verdict(row, metric, comparison)
    if word == "n.s.":
        return f"{_diff_words(diff, comparison.level)}: not significant, the runs do not tell them apart."
    return f"{_diff_words(diff, comparison.level)}: significantly {word}."


def verdict_sentence(comparison: CaseComparison) -> str:
    """Who won on the headline metric, by how much against the baseline, and whether that is significant."""
    c, metric = comparison, comparison.headline
    name = f"`{metric_name(metric)}` {arrow(c.directions.get(metric))}".strip()
    best = c.best(metric)
    if len(c.rows) < 2:
        return f"Only one choice ran ({c.display(c.rows[0].label)}): nothing to compare."
    if best is None:
        return f"{name} has no better direction (or no values): no winner is named; see the tables."
    mean = format_cell(metric, best.values[metric])
    if best.label != c.baseline:
        return (
            f"**{c.display(best.label)}** has the best mean {name} ({mean}); against the baseline "
            f"{c.display(c.baseline)}: {_judged(best, c, metric)}"
        )
    others = [r for r in c.rows if r.label != c.baseline and metric in r.values]
    runner = (max if c.directions[metric] else min)(others, key=lambda r: r.values[metric].mean)
    return (
        f"The baseline **{c.display(c.baseline)}** has the best mean {name} ({mean}); the runner-up "
        f"{c.display(runner.label)} against it: {_judged(runner, c, metric)}"
    )


def settings_sentence(comparison: CaseComparison) -> str:
    """What the runs shared (dataset, rows, training, debug, hardware) and the seeds."""
    seeds = sorted({s for r in comparison.rows for s in r.seeds})
    parts = [f"{name}: {value}" for name, value in comparison.settings.items()]
    return " · ".join([*parts, f"seeds: {', '.join(map(str, seeds))}"])


def case_intro(comparison: CaseComparison) -> str:
    varied = ", ".join(f"`{a}`" for a in comparison.axes) or "nothing (all runs share one config)"
    shown = f"{len(comparison.rows)} choice(s)"
    if comparison.hidden:
        by = f" by `{metric_name(comparison.sorted_by)}`" if comparison.sorted_by else ""
        shown = f"{len(comparison.rows)} of {len(comparison.rows) + comparison.hidden} choices shown (--top{by})"
    return (
        f"Varied: {varied} · {shown} · baseline: **{comparison.display(comparison.baseline)}** · "
        f"headline: `{comparison.headline}`"
    )


def significance_note(comparison: CaseComparison) -> str:
    level = f"{comparison.level:.0%}"
    named = [(cost_header(c), front_name(c)) for c in comparison.pareto_costs]
    fronts = ", ".join(h if h == n else f"{h} ({n})" for h, n in named) or "no cost"
    return (
        f"Δ = choice − baseline, averaged over the seeds both ran (pairs share the seed); [{level} paired "
        f"bootstrap interval of the mean difference]; p = two-sided paired t-test. A difference is marked "
        f"better/worse only when the bootstrap interval excludes 0 *and* p < {1 - comparison.level:.2f}; "
        f"otherwise n.s.; n/a: fewer than two seeds in common with the baseline. ↑/↓: higher/lower is better; "
        f"bold: the best mean of a column. Pareto front: no other choice is at least as good on "
        f"{comparison.headline} and at most as costly in {fronts}."
    )
