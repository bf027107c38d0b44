"""What a run prints: the case's design card at the start, a summary table at the end; in a multirun the
card once and one line per job. Paths wrap rather than being cut, numbers are never split (80 columns:
pipes and CI logs)."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

console = Console(highlight=False)
_cards_shown: set[str] = set()  # cases whose card this process printed (a multirun runs its jobs here)


def print_design_card(case: DictConfig, model: str, dataset: str, once: bool = False) -> None:
    """The case's design card; with `once`, only if this process has not printed that case's card yet."""
    if once and case.name in _cards_shown:
        return
    _cards_shown.add(str(case.name))
    d = case.design
    lines = [
        f"[bold]Objective[/]   {d.business_objective}",
        f"[bold]ML framing[/]  {d.ml_framing}",
        f"[bold]Label[/]       {d.label}",
        f"[bold]Online[/]      {', '.join(d.online_metrics)}",
        f"[bold]Serving[/]     {d.serving}  [dim](budget {d.latency_budget_ms:g} ms per request)[/]",
        f"[bold]Retraining[/]  {d.retraining}",
    ]
    title = (
        f"[bold]{case.name}[/] · data {dataset}" if once else f"[bold]{case.name}[/] · model {model} · data {dataset}"
    )
    console.print(Panel("\n".join(lines), title=title, expand=False))


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def print_job_line(record: dict[str, Any], job: int, overrides: list[str]) -> None:
    """One line for a multirun's job: its number and overrides, the monitored metric, time, run dir."""
    monitor = record["objective"]["metric"].split("/", 1)[1]
    test = record["metrics"].get(f"test/{monitor}")
    value = record["objective"]["value"]
    result = f"test/{monitor} {format_value(test)} · val {format_value(value)}" if test is not None else "no metric"
    seconds = sum(record["timings"].values())
    console.print(
        f"[bold]#{job}[/] {escape(' '.join(overrides))} · {result} · {seconds:.1f}s · {escape(record['run_dir'])}",
        soft_wrap=True,
    )


def print_summary(record: dict[str, Any], metric_table: bool = True) -> None:
    """The metrics table (the eval suite's metrics: val of the best epoch, test of the best checkpoint),
    then throughput, serving latency, time per phase, data and where things are. `metric_table=False`
    when the task kind printed its own report of metrics and latency."""
    metrics = record["metrics"]
    suite = record["config"]["eval"]["metrics"]
    names = sorted(name for name in suite if f"val/{name}" in metrics or f"test/{name}" in metrics)
    table = Table(title=f"{record['case']} · {record['model']} · {record['dataset']} · seed {record['seed']}")
    table.add_column("metric", no_wrap=True)
    table.add_column("val (best epoch)", justify="right", no_wrap=True)
    table.add_column("test (best ckpt)", justify="right", no_wrap=True)
    monitor = record["objective"]["metric"].split("/", 1)[1]
    for name in names:
        label = f"[bold]{name}[/] ({record['objective']['mode']})" if name == monitor else name
        val, test = metrics.get(f"val/{name}", ""), metrics.get(f"test/{name}", "")
        table.add_row(label, format_value(val), format_value(test))
    if metric_table:
        console.print(table)

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")  # long paths wrap instead of ending in "…"
    throughput = record.get("train_samples_per_s")
    if throughput:
        facts.add_row("training", f"{throughput:,.0f} samples/s over {record['epochs']} epoch(s)")
    serving = record.get("serving") or {}
    if serving and metric_table:
        ok = "[green]within[/]" if serving["within_budget"] else "[red]over[/]"
        facts.add_row(
            "serving",
            f"p50 {serving['p50_ms']:.2f} ms · p99 {serving['p99_ms']:.2f} ms per request of "
            f"{serving.get('request') or str(serving['candidates_per_request']) + ' candidates'} "
            f"({ok} the {serving['budget_ms']:g} ms budget)",
        )
    timings = record["timings"]
    facts.add_row("time", " · ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    data = record.get("data", {})
    if data:
        if "edges" in data:  # a graph: edges per part, and what cleaning dropped
            dropped = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data.get("dropped", {}).items())
            facts.add_row(
                "data", f"{data['nodes']} nodes, {data['edges']} edges (dropped: {dropped}), cache {data.get('cache')}"
            )
        elif "queries_without_positive" in data:  # query lists: queries per part, and those the metrics skip
            parts = ("train", "valid", "test")
            queries = ", ".join(f"{p} {data[f'{p}_queries']:,}" for p in parts)
            skipped = data["queries_without_positive"]
            facts.add_row(
                "data",
                f"queries {queries} ({data['rows_read']:,} rows, {data['split_strategy']} split); without a "
                f"positive, skipped by the metrics: valid {skipped['valid']:,}, test {skipped['test']:,}; "
                f"cache {data.get('cache')}",
            )
        elif "train_requests" in data:  # feed requests with several reactions: requests per part, label rates
            parts = ("train", "valid", "test")
            requests = ", ".join(f"{p} {data[f'{p}_requests']:,}" for p in parts)
            train = data["tasks"]["train"].items()
            rates = ", ".join(f"{t} {v['positive_rate'] if 'positive_rate' in v else v['mean']}" for t, v in train)
            silent = data.get("requests_without_engagement", {})
            facts.add_row(
                "data",
                f"requests {requests} ({data['rows_read']:,} rows, {data['split_strategy']} split); train labels "
                f"(rate or mean): {rates}; without engagement, skipped by the feed metrics: valid "
                f"{silent.get('valid', 0):,}, test {silent.get('test', 0):,}; cache {data.get('cache')}",
            )
        elif "sessions" in data:  # click sessions: sessions and clicks per part
            facts.add_row("data", f"{data['sessions']} sessions, {data['clicks']} clicks, cache {data.get('cache')}")
        else:
            facts.add_row("data", f"{data.get('rows', {})} rows, cache {data.get('cache')}")
    facts.add_row("run dir", record["run_dir"])
    wandb_dir = (record.get("tracking") or {}).get("wandb_dir")
    if wandb_dir:
        facts.add_row("W&B run", wandb_dir)
        if record["config"]["logger"]["mode"] == "offline":
            facts.add_row("", "offline: upload it later with `wandb sync <that directory>`")
    console.print(facts)
