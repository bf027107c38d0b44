"""What a replay reports: summary numbers (run.json `metrics` under retraining/*), the per-window plot, the
end-of-run table, and the comparison of a multirun's replays (strategies x seeds):

    python -m framework.monitoring.report outputs/multirun/ad_click/ad_click_retraining/<timestamp>
    python -m framework.monitoring.report outputs/multirun/video_recommendation/video_retraining/<timestamp>

What a window's quality is depends on the kind: a click log's NCE, AUC and calibration (QUALITY); a video
replay's stage-1 recall@K and the eval suite's monitored metric (retrieval_replay.py). A run records its
names (`retraining.quality`); the first is the one the comparison leads with.

Detection delay: windows from the planted drift point (`retraining.drift_at`, the first drifted window)
to the first retrain decision at or after it (0 = decided right after predicting the first drifted
window). False alarms: retrain decisions before the drift point (for `scheduled` they are its routine).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig

from framework.monitoring.strategies import STRATEGIES

if TYPE_CHECKING:
    from framework.tasks.result import RecipeResult
    from framework.training.loop import RunContext

QUALITY = ("nce", "auroc", "calibration")  # what the plot shows per window (eval-suite names)
TITLES = {"nce": "NCE", "auroc": "AUC", "calibration": "calibration", "recall": "recall@K"}  # else the name


def title(name: str) -> str:
    return TITLES.get(name, name)


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if key in r and math.isfinite(r[key])]
    return float(np.mean(values)) if values else None


def label_of(rcfg: DictConfig | dict) -> str:
    """A strategy's name in tables and legends: drift/psi, performance/nce, scheduled/2, warm starts marked."""
    strategy = rcfg["strategy"]
    detail = {"scheduled": "every", "performance": "metric", "drift": "detector"}.get(strategy)
    name = f"{strategy}/{rcfg[detail]}" if detail else strategy
    return name + (" (warm)" if rcfg["mode"] == "warm_start" and strategy != "never" else "")


def summarize(
    rows: list[dict[str, Any]],
    events: list[dict[str, Any]],
    rcfg: DictConfig,
    initial_s: float,
    retrain_s: float,
    quality: tuple[str, ...] = QUALITY,
) -> dict[str, Any]:
    """The run's numbers from its per-window rows and retrain events (replay.py, retrieval_replay.py)."""
    drift_at = rcfg.drift_at
    trained = [e for e in events if "trained_on" in e]
    out: dict[str, Any] = {
        "retrains": len(trained),
        "skipped_retrains": len(events) - len(trained),
        "train_s": round(retrain_s, 3),
        "train_samples": sum(e["samples"] for e in trained),  # rows x epochs of the retrains
        "initial_train_s": round(initial_s, 3),
    }
    for name in quality:
        out[f"{name}_mean"] = _mean(rows, name)
        out[f"never_{name}_mean"] = _mean(rows, f"never/{name}")
    if "calibration" in quality:
        out["calibration_error_mean"] = _mean([{"e": abs(r["calibration"] - 1)} for r in rows], "e")
    if drift_at is not None:
        before = [r for r in rows if r["window"] < drift_at]
        after = [r for r in rows if r["window"] >= drift_at]
        for name in quality:
            out[f"{name}_after_drift"] = _mean(after, name)
            out[f"never_{name}_after_drift"] = _mean(after, f"never/{name}")
            out[f"{name}_before_drift"] = _mean(before, name)
        alarms = [r["window"] for r in rows if r["alarm"]]
        late = [w for w in alarms if w >= drift_at]
        out["detection_delay"] = late[0] - drift_at if late else None
        out["false_alarms"] = sum(w < drift_at for w in alarms)
        out["retrains_after_drift"] = sum(e["after_window"] >= drift_at for e in trained)
    return out


def plot(
    rows: list[dict[str, Any]],
    series: dict[str, str],
    drift_at: int | None,
    retrains: list[int],
    path: Path,
    quality: tuple[str, ...] = QUALITY,
):
    """One panel per quality metric; `series` maps a legend label to the row key prefix ('' or 'never/')."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from framework.tracking.records import atomic_file

    fig, axes = plt.subplots(len(quality), 1, figsize=(10, 2.4 * len(quality)), sharex=True)
    windows = [r["window"] for r in rows]
    for ax, name in zip(axes, quality, strict=True):
        for label, prefix in series.items():
            ax.plot(windows, [r.get(f"{prefix}{name}", float("nan")) for r in rows], marker="o", ms=3, label=label)
        if drift_at is not None:
            ax.axvline(drift_at - 0.5, color="grey", ls="--", lw=1)
        for w in retrains:  # a retrain after window w serves from w + 1
            ax.axvline(w + 0.5, color="tab:red", alpha=0.25, lw=1)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: lines stay visible
    red = "; red: a retrained model serves from here" if retrains else ""
    axes[-1].set_xlabel(f"window (dashed: planted drift{red})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path


def recipe_result(
    ctx: RunContext,
    rows: list[dict[str, Any]],
    events: list[dict[str, Any]],
    summary: dict[str, Any],
    window_rows: list[int],
    data: dict[str, Any],
    quality: tuple[str, ...] = QUALITY,
    initial: dict[str, Any] | None = None,
) -> RecipeResult:
    """The run's record. `window_rows`: rows (or positives) per window; `data`: the run record's data field;
    `quality`: the per-window metric names (QUALITY: a click log's); `initial`: the first model's training,
    if recorded.
    The objective: the eval suite's monitored metric (a click log's NCE) averaged over the replayed windows."""
    from omegaconf import OmegaConf

    from framework.tasks.result import RecipeResult

    rcfg = ctx.cfg.retraining
    label = label_of(OmegaConf.to_container(rcfg))
    retrains = [e["after_window"] for e in events if "trained_on" in e]
    series = {label: ""} if rcfg.strategy == "never" else {label: "", "never": "never/"}
    path = plot(rows, series, rcfg.drift_at, retrains, ctx.run_dir / "plots" / "retraining.png", quality)
    if ctx.verbose:
        print_replay(rows, events, summary, label, quality)
    metrics = {f"retraining/{k}": v for k, v in summary.items() if isinstance(v, int | float) or v is None}
    return RecipeResult(
        metrics=metrics,
        objective=summary["nce_mean" if quality == QUALITY else f"{ctx.cfg.eval.monitor}_mean"],
        epochs=int(rcfg.epochs),
        history=[],
        train_samples_per_s=None,
        checkpoints={},
        extras={
            "retraining": {
                "strategy": label,
                "windows": rows,
                "events": events,
                "window_rows": window_rows,
                "summary": summary,
                "plot": str(path),
                **({} if quality == QUALITY else {"quality": list(quality)}),
                **({} if initial is None else {"initial": initial}),
            },
            "data": data,
        },
        reported=True,
    )


def print_replay(
    rows: list[dict[str, Any]],
    events: list[dict[str, Any]],
    summary: dict[str, Any],
    label: str,
    quality: tuple[str, ...] = QUALITY,
) -> None:
    from rich.table import Table

    from framework.tracking.summary import console, format_value

    first, second = quality[0], quality[1]
    table = Table(title=f"retraining replay · {label}")
    for column in ("window", "model", *map(title, quality), f"never {title(first)}", "decision"):
        table.add_column(column, justify="right" if column != "decision" else "left")
    reasons = {e["after_window"]: e.get("skipped") or e["reason"] for e in events}
    for r in rows:
        table.add_row(
            str(r["window"]),
            str(r["generation"]),
            *(format_value(r[name]) for name in quality),
            format_value(r[f"never/{first}"]),
            reasons.get(r["window"], ""),
        )
    console.print(table)
    facts = [
        f"retrains {summary['retrains']} ({summary['train_s']:.1f} s; first model {summary['initial_train_s']:.1f} s)",
        f"mean {title(first)} {format_value(summary[f'{first}_mean'])} "
        f"(never: {format_value(summary[f'never_{first}_mean'])})",
    ]
    if "detection_delay" in summary:
        delay = summary["detection_delay"]
        never = format_value(summary[f"never_{first}_after_drift"])
        facts.append(
            f"after the drift: {title(first)} {format_value(summary[f'{first}_after_drift'])} (never: {never}), "
            f"{title(second)} {format_value(summary[f'{second}_after_drift'])}; "
            f"detection delay {'none' if delay is None else f'{delay} window(s)'}, "
            f"false alarms {summary['false_alarms']}"
        )
    console.print("\n".join(facts))


# -- a multirun's replays ---------------------------------------------------------------------------------
COLUMNS = (
    ("nce_after_drift", "NCE after drift"),
    ("auroc_after_drift", "AUC after drift"),
    ("nce_before_drift", "NCE before drift"),
    ("retrains", "retrains"),
    ("train_s", "retrain s"),
    ("train_samples", "retrain samples"),
    ("detection_delay", "delay (windows)"),
    ("false_alarms", "false alarms"),
)


def columns(quality: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The comparison's columns: COLUMNS with the first two quality metrics of the runs' kind."""
    first, second = quality[0], quality[1]
    return (
        (f"{first}_after_drift", f"{title(first)} after drift"),
        (f"{second}_after_drift", f"{title(second)} after drift"),
        (f"{first}_before_drift", f"{title(first)} before drift"),
        *COLUMNS[3:],
    )


def load_runs(folder: Path) -> list[dict[str, Any]]:
    """The finished replays under a multirun folder (run.json files with a `retraining` record)."""
    runs = []
    for path in sorted(folder.glob("**/run.json")):
        record = json.loads(path.read_text())
        if record.get("status") == "finished" and "retraining" in record:
            runs.append(record)
    return runs


def mean_std(values: list[float | None]) -> str:
    """'mean ± std (n)' over the runs where the value exists (a delay is missing when nothing fired)."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return "–"
    missing = len(values) - len(xs)
    text = f"{np.mean(xs):.4g} ± {np.std(xs, ddof=1):.2g}" if len(xs) > 1 else f"{xs[0]:.4g}"
    return text + (f" ({missing} none)" if missing else "")


def compare(folder: Path) -> str:
    """A Markdown table (mean ± sample std over seeds per strategy) and plots/retraining.png with every
    strategy's per-window quality (mean over seeds) on one figure. Returns the Markdown."""
    runs = load_runs(folder)
    if not runs:
        raise SystemExit(f"no finished retraining runs under {folder}")
    groups: dict[str, list[dict[str, Any]]] = {}
    order = {name: i for i, name in enumerate(STRATEGIES)}  # never first: the baseline
    for record in sorted(
        runs, key=lambda r: (order[r["config"]["retraining"]["strategy"]], r["retraining"]["strategy"])
    ):
        groups.setdefault(record["retraining"]["strategy"], []).append(record)
    quality = tuple(runs[0]["retraining"].get("quality", QUALITY))
    table = columns(quality)
    lines = [
        f"| strategy | seeds | {' | '.join(name for _, name in table)} |",
        "|---" * (len(table) + 2) + "|",
    ]
    for label, records in groups.items():
        cells = [mean_std([r["retraining"]["summary"].get(key) for r in records]) for key, _ in table]
        lines.append(f"| {label} | {len(records)} | {' | '.join(cells)} |")
    first = quality[0]
    never = [r["retraining"]["summary"].get(f"never_{first}_after_drift") for r in runs]
    lines.append(
        f"\nnever retrain, same first models (every run's reference line): {title(first)} after drift {mean_std(never)}"
    )
    rows = _mean_rows(groups, quality)
    first_config = runs[0]["config"]["retraining"]
    path = plot(
        rows,
        {label: f"{label}:" for label in groups},
        first_config["drift_at"],
        [],
        folder / "plots" / "retraining.png",
        quality,
    )
    text = "\n".join(lines) + f"\n\nplot: {path}\n"
    (folder / "retraining_report.md").write_text(text)
    return text


def _mean_rows(groups: dict[str, list[dict[str, Any]]], quality: tuple[str, ...] = QUALITY) -> list[dict[str, Any]]:
    """Per window, each strategy's quality averaged over its seeds, keyed '<label>:<metric>'."""
    by_window: dict[int, dict[str, Any]] = {}
    for label, records in groups.items():
        for name in quality:
            values: dict[int, list[float]] = {}
            for record in records:
                for r in record["retraining"]["windows"]:
                    values.setdefault(r["window"], []).append(r[name])
            for w, xs in values.items():
                by_window.setdefault(w, {"window": w})[f"{label}:{name}"] = float(np.mean(xs))
    return [by_window[w] for w in sorted(by_window)]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m framework.monitoring.report <multirun folder>")
    print(compare(Path(sys.argv[1])))
