"""The comparison report: one pair of tables per case, rendered for the terminal (Rich), Markdown and
self-contained HTML (figures embedded as base64 PNG), plus runs.csv and summary.json for machines.

Both tables are built once as rows of strings (`metrics_table`, `diff_table`); each renderer only lays
them out.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from framework.tracking import plots
from framework.tracking.comparison import CaseComparison, Cell
from framework.tracking.records import atomic_file, write_json_atomic
from framework.tracking.registry import COSTS
from framework.tracking.stats import PairedComparison

COST_HEADERS = {"cost/fit_s": "train s", "cost/samples_per_s": "samples/s", "cost/p99_ms": "p99 ms",
                "cost/parameters": "params"}  # fmt: skip
Table = tuple[list[str], list[list[str]]]


def _number(column: str, value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if column == "cost/parameters":
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}k" if value >= 1e3 else f"{value:.0f}"
    if column == "cost/samples_per_s":
        return f"{value:,.0f}"
    if column in ("cost/fit_s", "cost/p99_ms"):
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
    return sep.join((f"{diff.mean_diff:+.4f} {verdict}", f"[{diff.ci_low:+.4f}, {diff.ci_high:+.4f}]",
                     _p(diff.p_value)))  # fmt: skip


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _metric_header(comparison: CaseComparison, metric: str) -> str:
    return f"{metric.removeprefix('test/')} {plots.arrow(comparison.directions.get(metric))}".strip()


def _choice_column(comparison: CaseComparison) -> str:
    return comparison.choice_name


def _choice(comparison: CaseComparison, label: str, mark_baseline: bool = True) -> str:
    shown = comparison.display(label)
    return f"{shown} (baseline)" if mark_baseline and label == comparison.baseline else shown


def metrics_table(comparison: CaseComparison) -> Table:
    headers = [_choice_column(comparison), "seeds", *(_metric_header(comparison, m) for m in comparison.metrics)]
    rows = [
        [
            _choice(comparison, r.label),
            str(len(r.seeds)),
            *(format_cell(m, r.values.get(m)) for m in comparison.metrics),
        ]
        for r in comparison.rows
    ]
    return headers, rows


def costs_table(comparison: CaseComparison) -> Table:
    costs = [c for c in COSTS if any(c in r.values for r in comparison.rows)]
    fronts = {"cost/fit_s": "time", "cost/p99_ms": "latency"}
    headers = [_choice_column(comparison), *(COST_HEADERS[c] for c in costs), "Pareto front"]
    rows = []
    for r in comparison.rows:
        on = ", ".join(name for cost, name in fronts.items() if r.pareto.get(cost)) or "—"
        rows.append([_choice(comparison, r.label), *(format_cell(c, r.values.get(c)) for c in costs), on])
    return headers, rows


def diff_table(comparison: CaseComparison, sep: str = " ") -> Table:
    headers = [
        _choice_column(comparison),
        "paired seeds",
        *(f"Δ {_metric_header(comparison, m)}" for m in comparison.metrics),
    ]
    rows = []
    for r in comparison.rows:
        if r.label == comparison.baseline:
            continue
        n = len(set(r.seeds) & set(comparison.row(comparison.baseline).seeds))
        cells = [format_diff(r.diffs.get(m), plots.verdict(r, m, comparison), sep) for m in comparison.metrics]
        rows.append([_choice(comparison, r.label), str(n), *cells])
    return headers, rows


def significance_note(comparison: CaseComparison) -> str:
    level = f"{comparison.level:.0%}"
    return (
        f"Δ = choice − baseline, averaged over the seeds both ran (pairs share the seed); [{level} paired "
        f"bootstrap interval of the mean difference]; p = two-sided paired t-test. A difference is marked "
        f"better/worse only when the bootstrap interval excludes 0 *and* p < {1 - comparison.level:.2f}; "
        f"otherwise n.s.; n/a: fewer than two seeds in common with the baseline. ↑/↓: higher/lower is better. "
        f"Pareto front: no other choice is at least as good on "
        f"{comparison.headline} and at most as costly in training time (time) or serving p99 latency (latency)."
    )


def _case_intro(comparison: CaseComparison) -> str:
    seeds = sorted({s for r in comparison.rows for s in r.seeds})
    varied = ", ".join(f"`{a}`" for a in comparison.axes) or "nothing (all runs share one config)"
    return (
        f"Varied: {varied} · {len(comparison.rows)} choice(s) · seeds {', '.join(map(str, seeds))} · "
        f"baseline: **{comparison.baseline}** · headline: `{comparison.headline}`"
    )


def _markdown_table(table: Table) -> str:
    headers, rows = table
    escape = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(escape, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(escape, row)) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(comparisons: list[CaseComparison], figures: dict[str, dict[str, str]], header: str) -> str:
    parts = ["# mlsd comparison report", "", header]
    for c in comparisons:
        parts += ["", f"## {c.case}", "", _case_intro(c), "", "### Test metrics (mean ± std over seeds)", "",
                  _markdown_table(metrics_table(c)), "", "### Costs (mean ± std over seeds)", "",
                  _markdown_table(costs_table(c)), "", f"### Difference to the baseline ({c.baseline})", "",
                  _markdown_table(diff_table(c)), "", significance_note(c)]  # fmt: skip
        for title, name in figures.get(c.case, {}).items():
            parts += ["", f"![{c.case} {title}]({name})"]
    return "\n".join(parts) + "\n"


def _html_table(table: Table) -> str:
    headers, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;
text-align:right;white-space:nowrap}th:first-child,td:first-child{text-align:left}thead{background:#f2f2f2}
img{max-width:100%;margin:.5em 0}.note{font-size:12px;color:#555;max-width:1000px}code{background:#f4f4f4}"""


def _inline_markdown(text: str) -> str:
    """The few Markdown marks our sentences use (`code`, **bold**, *em*) as HTML, after escaping."""
    import re

    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", text)


def render_html(comparisons: list[CaseComparison], images: dict[str, dict[str, bytes]], header: str) -> str:
    head = f"<meta charset='utf-8'><title>mlsd comparison report</title><style>{_CSS}</style>"
    parts = [f"<!doctype html><html><head>{head}</head><body><h1>mlsd comparison report</h1>",
             f"<p>{_inline_markdown(header)}</p>"]  # fmt: skip
    for c in comparisons:
        parts += [f"<h2>{html.escape(c.case)}</h2><p>{_inline_markdown(_case_intro(c))}</p>",
                  "<h3>Test metrics (mean ± std over seeds)</h3>", _html_table(metrics_table(c)),
                  "<h3>Costs (mean ± std over seeds)</h3>", _html_table(costs_table(c)),
                  f"<h3>Difference to the baseline ({html.escape(c.baseline)})</h3>", _html_table(diff_table(c)),
                  f"<p class='note'>{_inline_markdown(significance_note(c))}</p>"]  # fmt: skip
        for title, png in images.get(c.case, {}).items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<div><img alt='{html.escape(c.case)} {title}' src='data:image/png;base64,{data}'></div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_VERDICT_STYLE = {" better": "green", " worse": "red", " differs": "yellow"}


def _coloured(cell: str) -> str:
    for word, style in _VERDICT_STYLE.items():
        cell = cell.replace(word, f" [{style}]{word.strip()}[/]")
    return cell


def print_report(comparisons: list[CaseComparison], console: Any) -> None:
    """Rich tables in the terminal: the same three tables per case as the files."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    for c in comparisons:
        console.rule(f"[bold]{c.case}[/] · varied: {', '.join(c.axes) or '—'} · baseline {c.baseline}")
        tables = (
            ("test metrics, mean ± std over seeds", metrics_table(c)),
            ("costs", costs_table(c)),
            (f"difference to {c.baseline}, paired by seed", diff_table(c, sep="\n")),
        )
        for title, (headers, rows) in tables:
            table = RichTable(title=title, title_justify="left")
            for i, h in enumerate(headers):
                table.add_column(h, justify="left" if i == 0 else "right")
            for row in rows:
                table.add_row(*(_coloured(escape(cell)) for cell in row))
            console.print(table)
        console.print(f"[dim]{significance_note(c)}[/]")


def summary_json(comparisons: list[CaseComparison]) -> list[dict[str, Any]]:
    def clean(value: Any) -> Any:  # JSON has no NaN
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out = []
    for c in comparisons:
        rows = [{"choice": r.label, "seeds": r.seeds, "values": {k: asdict(v) for k, v in r.values.items()},
                 "diffs": {m: (None if d is None else {**asdict(d), "significant": d.significant,
                                                       "verdict": plots.verdict(r, m, c)}) for m, d in r.diffs.items()},
                 "pareto": r.pareto} for r in c.rows]  # fmt: skip
        out.append(clean({"case": c.case, "axes": c.axes, "baseline": c.baseline, "metrics": c.metrics,
                          "higher_is_better": c.directions, "level": c.level, "choices": rows}))  # fmt: skip
    return out


def write_report(
    out_dir: Path, comparisons: list[CaseComparison], frame: pl.DataFrame, sources: list[str], notes: list[str]
) -> dict[str, Path]:
    """Write report.md, report.html, one PNG per figure, runs.csv and summary.json; each atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, dict[str, bytes]] = {}
    figures: dict[str, dict[str, str]] = {}
    written: dict[str, Path] = {}
    for c in comparisons:
        pngs = {"metrics": plots.metric_bars(c), "pareto": plots.pareto(c)}
        for name, png in pngs.items():
            if png is None:
                continue
            path = out_dir / f"{c.case}_{name}.png"
            with atomic_file(path, "wb") as f:
                f.write(png)
            images.setdefault(c.case, {})[name] = png
            figures.setdefault(c.case, {})[name] = path.name
            written[f"{c.case}_{name}"] = path
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"{frame.height} finished run(s) from {', '.join(f'`{s}`' for s in sources)}, compared {when}."
    if notes:
        header += " Notes: " + "; ".join(notes) + "."
    for name, text in (("report.md", render_markdown(comparisons, figures, header)),
                       ("report.html", render_html(comparisons, images, header)),
                       ("runs.csv", frame.drop("finished_at").write_csv())):  # fmt: skip
        with atomic_file(out_dir / name) as f:
            f.write(text)
        written[name] = out_dir / name
    write_json_atomic(out_dir / "summary.json", summary_json(comparisons))
    written["summary.json"] = out_dir / "summary.json"
    mode = 0o666 & ~_umask()  # atomic files start private (mkstemp); a report is for sharing
    for path in written.values():
        path.chmod(mode)
    return written


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current
