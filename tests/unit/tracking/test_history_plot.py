"""The per-run training curves: the eval suites' validation metrics by epoch, monitored one first."""

from __future__ import annotations

from pathlib import Path

from framework.tracking.history_plot import curves, plot_history, suite_names

CONFIG = {
    "eval": {"metrics": {"nce": {}, "auroc": {}}},
    "retrieval": {"eval": {"metrics": {"recall@20": {}}}},
    "model": {"_target_": "x"},
}
HISTORY = [
    {"val/nce": 1.2, "val/auroc": 0.6, "val/loss": 0.5, "retrieval/val/recall@20": 0.1, "epoch": 0, "step": 10},
    {"val/nce": 1.1, "val/auroc": 0.7, "val/loss": 0.4, "retrieval/val/recall@20": 0.2, "epoch": 1, "step": 20},
]


def test_curves_take_the_suites_metrics_only() -> None:
    names = suite_names(CONFIG)
    assert names == ["val/nce", "val/auroc", "retrieval/val/recall@20"]
    series = curves(HISTORY, names)
    assert set(series) == set(names)  # not val/loss, epoch or step
    assert series["val/nce"] == [(0, 1.2), (1, 1.1)]


def test_plot_is_written_as_a_png(tmp_path: Path) -> None:
    record = {
        "history": HISTORY,
        "config": CONFIG,
        "objective": {"metric": "val/nce"},
        "case": "c",
        "model": "m",
        "seed": 1,
    }
    path = plot_history(record, tmp_path / "plots" / "history.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_history({**record, "history": []}, tmp_path / "none.png") is None
