"""What a run prints: the case's design card at the start, a summary table at the end."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

console = Console(highlight=False)


def print_design_card(case: DictConfig, model: str, dataset: str) -> None:
    d = case.design
    lines = [
        f"[bold]Objective[/]   {d.business_objective}",
        f"[bold]ML framing[/]  {d.ml_framing}",
        f"[bold]Label[/]       {d.label}",
        f"[bold]Online[/]      {', '.join(d.online_metrics)}",
        f"[bold]Serving[/]     {d.serving}  [dim](budget {d.latency_budget_ms:g} ms per request)[/]",
        f"[bold]Retraining[/]  {d.retraining}",
    ]
    console.print(Panel("\n".join(lines), title=f"[bold]{case.name}[/] · model {model} · data {dataset}", expand=False))


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def print_summary(record: dict[str, Any]) -> None:
    metrics = record["metrics"]
    names = sorted({k.split("/", 1)[1] for k in metrics if k.startswith(("val/", "test/"))})
    table = Table(title=f"{record['case']} · {record['model']} · {record['dataset']} · seed {record['seed']}")
    table.add_column("metric")
    table.add_column("val (best epoch)", justify="right")
    table.add_column("test (best ckpt)", justify="right")
    monitor = record["objective"]["metric"].split("/", 1)[1]
    for name in names:
        label = f"[bold]{name}[/] ({record['objective']['mode']})" if name == monitor else name
        val, test = metrics.get(f"val/{name}", ""), metrics.get(f"test/{name}", "")
        table.add_row(label, format_value(val), format_value(test))
    console.print(table)

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    throughput = record.get("train_samples_per_s")
    if throughput:
        facts.add_row("training", f"{throughput:,.0f} samples/s over {record['epochs']} epoch(s)")
    serving = record.get("serving") or {}
    if serving:
        ok = "[green]within[/]" if serving["within_budget"] else "[red]over[/]"
        facts.add_row(
            "serving",
            f"p50 {serving['p50_ms']:.2f} ms · p99 {serving['p99_ms']:.2f} ms per request of "
            f"{serving['candidates_per_request']} candidates ({ok} the {serving['budget_ms']:g} ms budget)",
        )
    timings = record["timings"]
    facts.add_row("time", " · ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    data = record.get("data", {})
    if data:
        rows = data.get("rows", {})
        facts.add_row("data", f"{rows} rows, cache {data.get('cache')}")
    facts.add_row("run dir", record["run_dir"])
    wandb_dir = (record.get("tracking") or {}).get("wandb_dir")
    if wandb_dir:
        facts.add_row("W&B run", wandb_dir)
        if record["config"]["logger"]["mode"] == "offline":
            facts.add_row("", "offline: upload it later with `wandb sync <that directory>`")
    console.print(facts)
