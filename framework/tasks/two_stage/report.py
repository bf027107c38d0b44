"""The two-stage report: stage 1 quality, the index, the candidates, final quality, latency per stage."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from rich.table import Table

from framework.tracking.summary import console, format_value


def _metric_table(title: str, columns: list[tuple[str, str]], names: list[str], metrics: dict[str, float]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for header, _ in columns:
        table.add_column(header, justify="right")
    for name in names:
        cells = [format_value(metrics[f"{p}{name}"]) if f"{p}{name}" in metrics else "" for _, p in columns]
        table.add_row(name, *cells)
    return table


def print_two_stage_report(cfg: DictConfig, record: dict[str, Any], k: int) -> None:
    m = record["metrics"]
    index = record["index"]["index"]
    ranker = str(cfg.ranker._target_).rsplit(".", 1)[-1] if cfg.get("ranker") is not None else "none"
    model = str(cfg.model._target_).rsplit(".", 1)[-1]
    console.print(
        f"[bold]two-stage report[/] · retrieval {model} · index {index} · K={k} · ranker {ranker}", soft_wrap=True
    )
    stage1 = [str(n) for n in cfg.retrieval.eval.metrics]
    console.print(
        _metric_table(
            "stage 1 · retrieval, full ranking over all items (seen items excluded)",
            [("val (best epoch)", "retrieval/val/"), ("test (best ckpt)", "retrieval/test/")],
            stage1,
            m,
        )
    )
    console.print(
        f"index recall@{k} against exact search: {m[f'index/recall@{k}']:.4f}   ·   "
        f"stage-1 recall@{k} (candidates passed to stage 2): valid {m[f'candidates/valid/recall@{k}']:.4f}, "
        f"test {m[f'candidates/test/recall@{k}']:.4f}"
    )
    final = [str(n) for n in cfg.eval.metrics]
    columns = [("stage-1 order (test)", "candidates/test/"), ("final val", "val/"), ("final test", "test/")]
    console.print(
        _metric_table(
            f"final lists · {'re-ranked by ' + ranker if ranker != 'none' else 'stage-1 order'}", columns, final, m
        )
    )
    s = record["serving"]
    latency = Table(
        title=f"latency per request (CPU, {s['threads']} threads, {s['requests']} requests)", title_justify="left"
    )
    for column in ("stage", "p50 ms", "p99 ms"):
        latency.add_column(column, justify="right" if column != "stage" else "left")
    latency.add_row(
        f"1 · retrieve {k} of {record['index']['items']} ({index})",
        f"{s['stage1']['p50_ms']:.3f}",
        f"{s['stage1']['p99_ms']:.3f}",
    )
    if "stage2" in s:
        latency.add_row(
            f"2 · rank {k} candidates ({ranker})", f"{s['stage2']['p50_ms']:.3f}", f"{s['stage2']['p99_ms']:.3f}"
        )
    ok = "[green]within[/]" if s["within_budget"] else "[red]over[/]"
    latency.add_row(
        f"end to end ({ok} the {s['budget_ms']:g} ms budget at p99)", f"{s['p50_ms']:.3f}", f"{s['p99_ms']:.3f}"
    )
    console.print(latency)
