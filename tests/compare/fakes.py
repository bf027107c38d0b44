"""Run records shaped like run.json, with chosen metric values, for tests of the registry and report."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVAL = {
    "metrics": {
        "nce": {"_target_": "framework.metrics.ctr.NormalizedCrossEntropy"},
        "auroc": {"_target_": "torchmetrics.classification.BinaryAUROC"},
        "calibration": {"_target_": "framework.metrics.ctr.CalibrationRatio"},
    },
    "monitor": "nce",
    "mode": "min",
}
MODELS = {
    "lr": {"_target_": "framework.models.ranking.lr.LogisticRegression"},
    "dcn": {"_target_": "framework.models.ranking.dcn.DCN", "embedding_dim": 16, "hidden_units": [256, 128]},
}


def record(
    model: str = "dcn", seed: int = 1, nce: float = 0.8, auroc: float = 0.75, order: int = 0, **config: Any
) -> dict[str, Any]:
    """A finished run. `config` sets dotted config keys, e.g. **{"model.embedding_dim": 32}."""
    cfg: dict[str, Any] = {
        "seed": seed,
        "resume": False,
        "tags": [f"experiment:test-{order % 2}"],
        "paths": {"output_root": f"/tmp/out{order}", "cache_dir": "~/.cache/mlsd"},
        "logger": {"kind": "wandb", "mode": "offline", "group": None, "project": "mlsd", "entity": None},
        "trainer": {"max_epochs": 3, "enable_progress_bar": order % 2 == 0},
        "case": {"name": "ad_click", "task": "ctr"},
        "dataset": {"name": "click_log_synthetic", "features": {"hash_buckets": None, "min_count": 3}},
        "model": copy.deepcopy(MODELS[model]),
        "optim": {"optimizer": {"_target_": "framework.optim.LazyAdam", "lr": 0.01 if model == "lr" else 0.002}},
        "eval": copy.deepcopy(EVAL),
    }
    for dotted, value in config.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return {
        "status": "finished",
        "case": "ad_click",
        "model": model,
        "dataset": "click_log_synthetic",
        "hardware": "cpu",
        "seed": seed,
        "run_dir": f"runs/{order}",  # a label: nothing reads it from disk
        "started_at": f"2026-01-01T00:{order // 60:02d}:{order % 60:02d}+00:00",
        "finished_at": f"2026-01-01T01:{order // 60:02d}:{order % 60:02d}+00:00",
        "objective": {"metric": "val/nce", "mode": "min", "value": nce},
        "metrics": {
            "val/nce": nce,
            "test/nce": nce,
            "test/auroc": auroc,
            "test/calibration": 1.0,
            "serving/p50_ms": 1.0,
            "serving/p99_ms": 2.0 if model == "lr" else 5.0,
        },
        "timings": {"setup": 1.0, "data": 2.0, "fit": 10.0 if model == "lr" else 30.0, "test": 1.0},
        "train_samples_per_s": 1000.0,
        "parameters": 100 if model == "lr" else 1000,
        "choices": {
            "model": model,
            "case": "ad_click",
            "case_model": f"ad_click_{model}",
            "logger": "wandb",
            "hydra/launcher": "basic",
            "experiment": "ad_click_models",
        },
        "config": cfg,
    }


def write_runs(root: Path, records: list[dict[str, Any]]) -> Path:
    """Each record as <root>/<job number>/run.json, like a multirun directory."""
    for i, r in enumerate(records):
        run_dir = root / str(i)
        run_dir.mkdir(parents=True)
        (run_dir / "run.json").write_text(json.dumps({**r, "run_dir": str(run_dir)}))
    return root
