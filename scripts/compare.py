#!/usr/bin/env python
"""Compare design choices: read every run.json under the given directories (or a W&B project), group the
runs by the config keys they vary (an ad-hoc run is labelled by every key it changed), and report which
choice wins: each choice's metrics (mean ± std over seeds), its difference to a baseline (paired by
seed: bootstrap interval and t-test, significant or not), its costs (training time, throughput, serving
latency, or the case's `case.report.costs`); with plots, as Markdown and self-contained HTML.

    python run.py -m experiment=ad_click_models
    python scripts/compare.py outputs/multirun/ad_click/ad_click_models/<timestamp>
    python scripts/compare.py outputs/multirun/ad_click outputs/runs/ad_click --baseline model=lr
    python scripts/compare.py outputs/runs/ad_click --sort auroc --top 5   # ad-hoc runs: the five best by AUC
    python scripts/compare.py --wandb mlsd --entity my-team        # online runs, via the W&B API

Writes report.md, report.html, <case>_metrics.png, <case>_pareto.png, runs.csv and summary.json into
--out (default: <the one directory given>/report). Exit code 2 on bad input (no run.json found, ...).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compare.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", type=Path, help="run or multirun directories (searched recursively)")
    parser.add_argument("--wandb", metavar="PROJECT", help="read the runs of this W&B project instead (online)")
    parser.add_argument("--entity", help="W&B entity (team or user) of --wandb; default: your default entity")
    parser.add_argument(
        "--baseline",
        metavar="KEY=VALUE",
        help="the choice the others are compared with, e.g. model=lr or embedding_dim=16 "
        "(default: the first choice that ran)",
    )
    parser.add_argument(
        "--metric",
        help="headline metric for plots and the Pareto front, e.g. auroc (default: the eval suite's monitored metric)",
    )
    parser.add_argument(
        "--sort", metavar="METRIC", help="order the choices best first by this metric, e.g. nce or index/recall@100"
    )
    parser.add_argument(
        "--top", type=int, metavar="N", help="show only the first N choices (after --sort), and the baseline"
    )
    parser.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument(
        "--resamples", type=int, default=10_000, help="bootstrap resamples beyond 8 seeds (fewer are enumerated)"
    )
    parser.add_argument("--out", type=Path, help="report directory (default: <the one directory given>/report)")
    args = parser.parse_args(argv)
    if not args.paths and not args.wandb:
        parser.error("give run or multirun directories, or --wandb PROJECT")
    if args.paths and args.wandb:
        parser.error("give either directories or --wandb PROJECT, not both")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from rich.console import Console

    from framework.compare.build import build_comparisons, default_out_dir
    from framework.compare.report import print_report, write_report
    from framework.compare.runs import load_records
    from framework.errors import UserError

    console = Console(highlight=False)
    try:
        if args.wandb:
            from framework.compare.wandb_source import fetch_project_runs

            records = [r for r in fetch_project_runs(args.wandb, args.entity) if r["status"] == "finished"]
            notes, sources = [], [f"wandb:{args.wandb}"]
            if not records:
                raise UserError(f"W&B project {args.wandb} has no finished runs.")
        else:
            records, notes = load_records(args.paths)
            sources = [str(p) for p in args.paths]
        frame, comparisons, more = build_comparisons(
            records, args.baseline, args.metric, args.level, args.resamples, sort=args.sort, top=args.top
        )
        out = args.out or default_out_dir(args.paths, os.environ.get("MLSD_OUTPUT_DIR", "outputs"))
        print_report(comparisons, console)
        written = write_report(out, comparisons, frame, sources, [*notes, *more])
    except UserError as exc:
        from rich.markup import escape

        Console(stderr=True, highlight=False).print(f"[bold red]{exc.title}:[/] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    for note in [*notes, *more]:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True)
    console.print(
        f"report: [bold]{written['report.html']}[/] (and report.md, figures, runs.csv in {out})", soft_wrap=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
