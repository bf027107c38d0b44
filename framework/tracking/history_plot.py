"""A run's training curves: every validation metric of the eval suite(s) by epoch, one panel each,
saved as <run dir>/plots/history.png (what a person looks at before reading run.json)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from framework.tracking.records import atomic_file

MAX_PANELS = 12


def suite_names(config: dict[str, Any]) -> list[str]:
    """The logged names of the eval suites' metrics: val/<name>, and <stage>/val/<name> for a stage with
    a suite of its own (e.g. retrieval.eval)."""
    names = [f"val/{m}" for m in config["eval"]["metrics"]]
    for key, node in config.items():
        if key != "eval" and isinstance(node, dict) and isinstance(node.get("eval"), dict):
            names += [f"{key}/val/{m}" for m in node["eval"].get("metrics", {})]
    return names


def curves(history: list[dict[str, float]], names: list[str]) -> dict[str, list[tuple[int, float]]]:
    """metric -> [(epoch, value)] for each of `names` that was logged."""
    out: dict[str, list[tuple[int, float]]] = {}
    for row in history:
        for name, value in row.items():
            if name in names and isinstance(value, int | float) and math.isfinite(value):
                out.setdefault(name, []).append((int(row.get("epoch", len(out.get(name, [])))), float(value)))
    return out


def plot_history(record: dict[str, Any], path: Path) -> Path | None:
    """Write the curves of `record["history"]`; None when there is nothing to draw."""
    series = curves(record.get("history") or [], suite_names(record["config"]))
    monitor = record["objective"]["metric"]
    names = sorted(series, key=lambda n: (n != monitor, n))[:MAX_PANELS]
    if not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        epochs, values = zip(*series[name], strict=True)
        ax.plot(epochs, values, marker="o", color="C3" if name == monitor else "C0")
        ax.set_title(name + ("  (monitored)" if name == monitor else ""), fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(f"{record['case']} · {record['model']} · seed {record['seed']}", fontsize=10)
    fig.tight_layout()
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path
