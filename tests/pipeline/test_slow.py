"""End-to-end runs in fresh processes: kill -9 and resume, DDP on CPU, the default run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import ROOT, read_run, run_cli, run_subprocess

pytestmark = pytest.mark.slow

RESUMABLE = (
    "dataset.max_rows=60000",
    "dataset.batch_size=512",
    "trainer.max_epochs=4",
    "model.dropout=0.2",
    "logger=csv",
    "trainer.enable_progress_bar=false",
    "early_stopping=null",
)


def _last_epoch(ckpt: Path) -> int:
    try:
        return int(torch.load(ckpt, weights_only=False, map_location="cpu")["epoch"])
    except Exception:  # not written yet (it is written atomically: never half-read)
        return -1


def test_kill_9_between_epochs_then_resume_gives_the_uninterrupted_metrics(tmp_path: Path) -> None:
    assert run_cli(*RESUMABLE, f"hydra.run.dir={tmp_path / 'whole'}") == 0
    killed = tmp_path / "killed"
    cmd = [sys.executable, str(ROOT / "run.py"), *RESUMABLE, f"hydra.run.dir={killed}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _last_epoch(killed / "checkpoints" / "last.ckpt") < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _last_epoch(killed / "checkpoints" / "last.ckpt") in (1, 2), "the kill should fall mid-run"
    assert read_run(killed)["status"] == "running"  # killed: the record was never half-written

    done = run_subprocess(*RESUMABLE, f"hydra.run.dir={killed}", "resume=true")
    assert done.returncode == 0, done.stderr[-2000:]
    whole, resumed = read_run(tmp_path / "whole"), read_run(killed)
    assert resumed["status"] == "finished" and resumed["resumed"] is True
    strip = lambda m: {k: v for k, v in m.items() if not k.startswith("serving/")}  # noqa: E731
    assert strip(resumed["metrics"]) == strip(whole["metrics"])  # bit for bit
    assert resumed["history"] == whole["history"]
    assert len(whole["history"]) == 4


def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path: Path) -> None:
    common = (
        "dataset.max_rows=20000",
        "dataset.batch_size=1024",
        "trainer.max_epochs=2",
        "early_stopping=null",
        "trainer.enable_progress_bar=false",
    )
    ddp = run_subprocess(*common, "hardware=ddp_cpu", "logger.kind=wandb", f"hydra.run.dir={tmp_path / 'ddp'}")
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert run_cli(*common, "logger=none", f"hydra.run.dir={tmp_path / 'one'}") == 0
    a, b = read_run(tmp_path / "ddp"), read_run(tmp_path / "one")
    assert a["status"] == "finished" and a["hardware"] == "ddp_cpu"
    for key, value in b["metrics"].items():
        if not key.startswith("serving/"):
            assert a["metrics"][key] == pytest.approx(value, abs=2e-4), key
    # logged once: one run directory, one run.json, one W&B run
    assert len(list((tmp_path / "ddp").rglob("run.json"))) == 1
    assert len(list((tmp_path / "ddp" / "wandb").glob("offline-run-*"))) == 1
    assert ddp.stdout.count("test (best ckpt)") == 1  # one summary table


def test_the_readme_main_command_and_help(tmp_path: Path) -> None:
    helped = run_subprocess("--help")
    assert helped.returncode == 0
    model_line = next(line.strip() for line in helped.stdout.splitlines() if line.strip().startswith("model="))
    assert {"lr", "fm", "deepfm", "wide_deep", "dcn", "dcn_v2"} <= set(model_line[len("model=") :].split(","))
    done = run_subprocess("case=ad_click", "model=dcn", "logger=none", f"hydra.run.dir={tmp_path}", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    record = read_run(tmp_path)
    assert record["data"]["rows"]["train"] == 800_000
    assert record["metrics"]["test/auroc"] > 0.72
