"""What every run guarantees: reproducible metrics, a cached second run, a complete run.json, trackers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FAST, ROOT, read_run, run_cli

SMALL = (
    "dataset.max_rows=8000",
    "dataset.batch_size=256",
    "trainer.max_epochs=2",
    "model.dropout=0.2",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "early_stopping=null",
)


def _metrics(run_dir: Path) -> dict[str, float]:
    return {k: v for k, v in read_run(run_dir)["metrics"].items() if not k.startswith("serving/")}


def test_same_config_and_seed_give_identical_metrics(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli(*SMALL, "seed=3", f"hydra.run.dir={tmp_path / name}") == 0
    assert run_cli(*SMALL, "seed=4", f"hydra.run.dir={tmp_path / 'c'}") == 0
    a, b, c = (_metrics(tmp_path / n) for n in "abc")
    assert a == b  # bit for bit
    assert a["test/auroc"] != c["test/auroc"]
    assert read_run(tmp_path / "a")["history"] == read_run(tmp_path / "b")["history"]


def test_second_run_reuses_the_encoded_data(tmp_path: Path) -> None:
    assert run_cli(*FAST, "dataset.max_rows=3000", f"hydra.run.dir={tmp_path / 'a'}") == 0
    assert run_cli(*FAST, "dataset.max_rows=3000", "seed=9", f"hydra.run.dir={tmp_path / 'b'}") == 0
    first, second = read_run(tmp_path / "a")["data"], read_run(tmp_path / "b")["data"]
    assert first["cache"] == "miss" and second["cache"] == "hit"
    assert first["cache_entry"] == second["cache_entry"] and first["rows"] == second["rows"]
    # a different data config is a different entry
    assert (
        run_cli(*FAST, "dataset.max_rows=3000", "dataset.features.min_count=1", f"hydra.run.dir={tmp_path / 'c'}") == 0
    )
    assert read_run(tmp_path / "c")["data"]["cache_entry"] != first["cache_entry"]


def test_run_json_holds_config_metrics_timings_versions_and_revision(tmp_path: Path) -> None:
    assert run_cli(*FAST, "tags=[nightly]", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["status"] == "finished" and record["seed"] == 42
    assert record["config"]["trainer"]["max_epochs"] == 1  # resolved, including debug=fast
    assert record["config"]["case"]["design"]["latency_budget_ms"] == 50
    assert record["choices"]["model"] == "dcn" and record["choices"]["hardware"] == "cpu"
    assert record["objective"] == {"metric": "val/nce", "mode": "min", "value": record["metrics"]["val/nce"]}
    assert len(record["git"]["commit"]) == 40
    assert {"torch", "lightning", "polars", "hydra-core"} <= set(record["versions"])
    assert record["checkpoints"]["best"].endswith(".ckpt") and Path(record["checkpoints"]["best"]).exists()
    assert (tmp_path / "config_resolved.yaml").read_text().startswith("seed: 42")
    assert not list(tmp_path.glob(".run.json.*"))  # no temporary files left behind
    json.dumps(record)  # plain JSON throughout


def test_csv_logger_writes_metrics(tmp_path: Path) -> None:
    assert run_cli(*FAST, "logger.kind=csv", f"hydra.run.dir={tmp_path}") == 0
    header = next((tmp_path / "csv").rglob("metrics.csv")).read_text().splitlines()[0]
    assert "val/nce" in header and "train/loss" in header and "test/auroc" in header


def test_wandb_offline_run_is_created_and_linked(tmp_path: Path) -> None:
    assert run_cli(*FAST, "logger.kind=wandb", f"hydra.run.dir={tmp_path}") == 0
    tracking = read_run(tmp_path)["tracking"]
    run_dir = Path(tracking["wandb_dir"])
    assert run_dir.parent == tmp_path / "wandb" and run_dir.name.startswith("offline-run-")
    assert list(run_dir.glob("run-*.wandb"))
    assert (tmp_path / "wandb_id.txt").read_text().strip() == tracking["wandb_run_id"]


def test_a_wandb_run_prints_no_deprecation_of_the_anonymous_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SILENT"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *FAST, "logger.kind=wandb", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "anonymous" not in (done.stdout + done.stderr).lower()


def test_a_learning_rate_scheduler_from_the_command_line_steps_every_epoch(tmp_path: Path) -> None:
    import torch

    step_lr = "optim.scheduler={_target_: torch.optim.lr_scheduler.StepLR, step_size: 1, gamma: 0.5}"
    assert run_cli(*FAST, "trainer.max_epochs=2", "optim.optimizer.lr=0.002", step_lr, f"hydra.run.dir={tmp_path}") == 0
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["lr"] == 0.002 * 0.5**2
    plateau = "optim.scheduler={_target_: torch.optim.lr_scheduler.ReduceLROnPlateau, patience: 0}"
    assert run_cli(*FAST, "trainer.max_epochs=2", plateau, f"hydra.run.dir={tmp_path / 'plateau'}") == 0
    assert read_run(tmp_path / "plateau")["status"] == "finished"


def test_debug_fast_keeps_a_logger_chosen_on_the_command_line(tmp_path: Path) -> None:
    assert run_cli("logger=csv", *FAST, f"hydra.run.dir={tmp_path / 'csv'}") == 0
    assert Path(read_run(tmp_path / "csv")["tracking"]["csv_dir"]).is_dir()
    assert run_cli(*FAST, f"hydra.run.dir={tmp_path / 'none'}") == 0  # debug=fast alone: no tracking
    assert read_run(tmp_path / "none")["tracking"] == {}
