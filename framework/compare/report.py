"""Writing a case comparison out: Rich tables in the terminal, report.md, a self-contained report.html
(figures embedded as base64 PNG), the figures as PNG files, runs.csv and summary.json.

Every renderer opens with the verdict (who won on the headline metric, by how much, significant or not)
and the caveats (a smoke test, one seed), then states what the runs shared, then the tables of
`framework.compare.tables`; each renderer only lays those out.
"""

from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from framework.compare import plots
from framework.compare.case_comparison import CaseComparison
from framework.compare.tables import (
    Table,
    case_intro,
    costs_table,
    diff_table,
    metrics_table,
    settings_sentence,
    significance_note,
    split_columns,
    verdict_sentence,
)
from framework.tracking.records import atomic_file, write_json_atomic

# Columns per table beyond the choice (and seeds): wider tables scroll off the page. Markdown has one
# line per Δ cell; HTML stacks a Δ cell's difference, interval and p-value.
MARKDOWN_PER_TABLE = {"metrics": 5, "costs": 8, "diffs": 3}
HTML_PER_TABLE = {"metrics": 6, "costs": 8, "diffs": 4}
VERDICT_WORDS = ("better", "worse", "differs", "n.s.")


def _sections(c: CaseComparison) -> list[tuple[str, str, Table, int]]:
    """(kind, title, table, leading key columns) of a case, in report order."""
    return [
        ("metrics", "Metrics (mean ± std over seeds)", metrics_table(c), 2),
        ("costs", "Costs (mean ± std over seeds)", costs_table(c), 1),
        ("diffs", f"Difference to the baseline ({c.display(c.baseline)}), paired by seed", diff_table(c, "\n"), 2),
    ]


def _verdict_lines(c: CaseComparison) -> list[str]:
    return [verdict_sentence(c), *(f"⚠ {note}" for note in c.caveats)]


# --- Markdown ---------------------------------------------------------------------------------------


def _markdown_cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    for word in ("better", "worse", "differs"):  # Markdown has no colour: the verdict word in bold
        text = re.sub(rf"(?<=\d) {word} ", f" **{word}** ", text)
    return text


def _markdown_table(table: Table) -> str:
    headers, rows = table
    lines = ["| " + " | ".join(map(_markdown_cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(comparisons: list[CaseComparison], figures: dict[str, dict[str, str]], header: str) -> str:
    parts = ["# mlsd comparison report", ""]
    for c in comparisons:
        parts += [f"**{c.case}.** " + " ".join(_verdict_lines(c)[:1]), ""]
        parts += [f"> {line}" for line in _verdict_lines(c)[1:]] + ([""] if c.caveats else [])
    parts.append(header)
    for c in comparisons:
        parts += ["", f"## {c.case}", "", case_intro(c), "", "Fixed: " + settings_sentence(c)]
        for kind, title, table, keep in _sections(c):
            parts += ["", f"### {title}"]
            for part in split_columns(table, keep, MARKDOWN_PER_TABLE[kind]):
                parts += ["", _markdown_table(part)]
        parts += ["", significance_note(c)]
        for title, name in figures.get(c.case, {}).items():
            parts += ["", f"![{c.case} {title}]({name})"]
    return "\n".join(parts) + "\n"


# --- HTML -------------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;
text-align:right;vertical-align:top}td{white-space:nowrap}th{font-weight:600}
th:first-child,td:first-child{text-align:left;white-space:normal}thead{background:#f2f2f2}
td.better{background:#e3f3e6;color:#1d6b2c}td.worse{background:#fbe3e3;color:#9b1c1c}
td.differs{background:#fdf1dc;color:#8a5300}td.ns{color:#777}
.verdict{font-size:16px;border-left:4px solid #4C72B0;padding:.3em .8em;background:#f6f8fc}
.caveat{border-left:4px solid #d9822b;background:#fdf3e7;padding:.3em .8em;margin:.3em 0}
img{max-width:100%;margin:.5em 0}.note{font-size:12px;color:#555}code{background:#f4f4f4}"""


def inline_markdown(text: str) -> str:
    """The few Markdown marks our sentences use (`code`, **bold**, *em*) as HTML, after escaping."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<i>\1</i>", text)


def _verdict_class(cell: str) -> str:
    first = cell.split("\n", 1)[0].split(" ")
    word = first[1] if len(first) > 1 else ""
    return {"better": "better", "worse": "worse", "differs": "differs", "n.s.": "ns"}.get(word, "")


def _html_cell(cell: str) -> str:
    css = _verdict_class(cell)
    body = "<br>".join(inline_markdown(line) for line in cell.split("\n"))
    return f"<td class='{css}'>{body}</td>" if css else f"<td>{body}</td>"


def _html_table(table: Table) -> str:
    headers, rows = table
    head = "".join(f"<th>{html.escape(h).replace('/', '/<wbr>')}</th>" for h in headers)  # long names wrap
    body = "".join("<tr>" + "".join(map(_html_cell, row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(comparisons: list[CaseComparison], images: dict[str, dict[str, bytes]], header: str) -> str:
    head = f"<meta charset='utf-8'><title>mlsd comparison report</title><style>{_CSS}</style>"
    parts = [f"<!doctype html><html><head>{head}</head><body><h1>mlsd comparison report</h1>"]
    for c in comparisons:
        verdict, *notes = _verdict_lines(c)
        parts.append(f"<p class='verdict'><b>{html.escape(c.case)}.</b> {inline_markdown(verdict)}</p>")
        parts += [f"<p class='caveat'>{inline_markdown(n)}</p>" for n in notes]
    parts.append(f"<p class='note'>{inline_markdown(header)}</p>")
    for c in comparisons:
        parts += [f"<h2>{html.escape(c.case)}</h2><p>{inline_markdown(case_intro(c))}</p>"]
        parts.append(f"<p class='note'>Fixed: {inline_markdown(settings_sentence(c))}</p>")
        for kind, title, table, keep in _sections(c):
            parts.append(f"<h3>{html.escape(title)}</h3>")
            parts += [_html_table(part) for part in split_columns(table, keep, HTML_PER_TABLE[kind])]
        parts.append(f"<p class='note'>{inline_markdown(significance_note(c))}</p>")
        for title, png in images.get(c.case, {}).items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(f"<div><img alt='{html.escape(c.case)} {title}' src='data:image/png;base64,{data}'></div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- terminal ---------------------------------------------------------------------------------------

_VERDICT_STYLE = {"better": "green", "worse": "red", "differs": "yellow"}


def _rich_cell(cell: str) -> str:
    """Escaped for Rich markup; **bold** as bold, the verdict words coloured."""
    from rich.markup import escape

    text = re.sub(r"\*\*([^*]+)\*\*", r"[bold]\1[/bold]", escape(cell).replace("`", ""))
    for word, style in _VERDICT_STYLE.items():
        text = re.sub(rf"(?<=\d) {word}\b", f" [{style}]{word}[/{style}]", text)
    return text


def _plain(text: str) -> str:
    return text.replace("**", "").replace("`", "")


def _widths(table: Table, column: int) -> tuple[int, int]:
    """(narrowest, natural) width of a column. Narrowest: its longest word in the first column and the
    headers (those may wrap between words), its longest line elsewhere (a number and its ± or interval
    stay on one line)."""
    headers, rows = table
    words, lines = _plain(headers[column]).split(), [_plain(headers[column])]
    for row in rows:
        text = _plain(row[column])
        words += text.split() if column == 0 else text.split("\n")
        lines += text.split("\n")
    return max(map(len, words), default=1), max(map(len, lines), default=1)


def _rich_table(title: str, table: Table, width: int) -> Any:
    """A Rich table whose column widths we set: Rich, left to shrink a wide table, may cut a number."""
    from rich.table import Table as RichTable

    headers, rows = table
    sizes = [_widths(table, i) for i in range(len(headers))]
    spare = width - 1 - sum(low + 3 for low, _ in sizes)  # each column: padding 2, border 1
    out = RichTable(title=title, title_justify="left")
    for i, (h, (low, natural)) in enumerate(zip(headers, sizes, strict=True)):
        grow = max(0, min(natural - low, spare))
        spare -= grow
        # fold, never "…": a value too long for any width is split rather than hidden
        out.add_column(h, justify="left" if i == 0 else "right", overflow="fold", width=low + grow)
    for row in rows:
        out.add_row(*map(_rich_cell, row))
    return out


def _fitting_tables(console: Any, title: str, table: Table, keep: int) -> list[Any]:
    """The table, split into groups of columns that each fit the console at their narrowest widths."""
    widths = [_widths(table, i)[0] + 3 for i in range(len(table[0]))]  # + padding and a border each
    fixed = 1 + sum(widths[:keep])
    groups: list[list[int]] = []
    for column in range(keep, len(widths)):
        if groups and fixed + sum(widths[i] for i in groups[-1]) + widths[column] <= console.width:
            groups[-1].append(column)
        else:
            groups.append([column])
    tables = [_pick(table, keep, g) for g in groups] or [table]
    titles = [title if i == 0 else f"{title} (continued)" for i in range(len(tables))]
    return [_rich_table(t, part, console.width) for t, part in zip(titles, tables, strict=True)]


def _pick(table: Table, keep: int, columns: list[int]) -> Table:
    headers, rows = table
    take = lambda row: row[:keep] + [row[i] for i in columns]  # noqa: E731
    return take(headers), [take(r) for r in rows]


def print_report(comparisons: list[CaseComparison], console: Any) -> None:
    """The verdict, the settings and the three tables per case, each table split to fit the width."""
    from rich.markup import escape

    for c in comparisons:
        console.rule(f"[bold]{escape(c.case)}[/]")
        console.print(_rich_cell(verdict_sentence(c)))
        for note in c.caveats:
            console.print(f"[yellow]⚠ {escape(note)}[/]")
        console.print(f"[dim]{_rich_cell(case_intro(c))}[/]")
        console.print(f"[dim]Fixed: {escape(settings_sentence(c))}[/]")
        for _, title, table, keep in _sections(c):
            for part in _fitting_tables(console, title, table, keep):
                console.print(part)
        console.print(f"[dim]{_rich_cell(significance_note(c))}[/]")


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
        rows = [
            {
                "choice": r.label,
                "seeds": r.seeds,
                "values": {k: asdict(v) for k, v in r.values.items()},
                "diffs": {
                    m: (
                        None
                        if d is None
                        else {**asdict(d), "significant": d.significant, "verdict": plots.verdict(r, m, c)}
                    )
                    for m, d in r.diffs.items()
                },
                "pareto": r.pareto,
            }
            for r in c.rows
        ]
        out.append(
            clean(
                {
                    "case": c.case,
                    "axes": c.axes,
                    "baseline": c.baseline,
                    "metrics": c.metrics,
                    "higher_is_better": c.directions,
                    "level": c.level,
                    "costs": c.costs,
                    "verdict": verdict_sentence(c),
                    "settings": c.settings,
                    "caveats": c.caveats,
                    "sorted_by": c.sorted_by,
                    "hidden_choices": c.hidden,
                    "choices": rows,
                }
            )
        )
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
        pngs = {"metrics": plots.metric_bars(c), "differences": plots.differences(c), "pareto": plots.pareto(c)}
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
    for name, text in (
        ("report.md", render_markdown(comparisons, figures, header)),
        ("report.html", render_html(comparisons, images, header)),
        ("runs.csv", frame.drop("finished_at").write_csv()),
    ):
        with atomic_file(out_dir / name) as f:
            f.write(text)
        written[name] = out_dir / name
    write_json_atomic(out_dir / "summary.json", summary_json(comparisons))
    written["summary.json"] = out_dir / "summary.json"
    return written  # atomic_file gives each the mode of a plain write: readable by teammates
