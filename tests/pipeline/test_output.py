"""What a person reads in the terminal: a single run prints the design card, a progress bar and the
summary; a multirun prints the card once and one line per job; at 80 columns (pipes, CI logs) paths wrap
instead of being cut and numbers are never split."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FAST, ROOT, read_run

NOISE = ("GPU available", "TPU available", "litlogger", "Restoring states", "v_num", "URL not available")


def _run(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "WANDB_SILENT": "false"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def _text_lines(output: str) -> list[str]:
    """Lines outside the progress bars."""
    return [line for line in output.splitlines() if line.strip() and "━" not in line]


def test_a_single_run_at_80_columns_wraps_paths_and_keeps_numbers_whole(tmp_path: Path) -> None:
    run_dir = tmp_path / ("a_long_folder_name_" * 5) / "run"
    out = _run(*FAST, "logger=csv", f"hydra.run.dir={run_dir}")
    assert "…" not in out
    assert all(len(line) <= 80 for line in _text_lines(out))
    flat = "".join(line.strip() for line in out.splitlines())
    assert str(run_dir) in flat  # wrapped, not cut
    record = read_run(run_dir)
    for name in record["config"]["eval"]["metrics"]:
        assert f"{record['metrics'][f'test/{name}']:.5f}" in out, name  # the summary's digits in one piece
    assert not any(noise in out for noise in NOISE)
    assert out.count("Objective") == 1 and "│ loss " not in out  # no `loss` row beside log_loss


def test_a_21_job_multirun_prints_one_line_per_job(tmp_path: Path) -> None:
    out = _run("-m", "experiment=ad_click_models", "seed=1,2,3", *FAST, f"hydra.sweep.dir={tmp_path}")
    lines = _text_lines(out)
    assert out.count("Objective") == 1  # the design card once
    jobs = [line for line in lines if line.startswith("#")]
    assert len(jobs) == 21 and all("test/nce" in line for line in jobs)  # 7 models x 3 seeds
    assert len(lines) - len(jobs) < 42, "\n".join(lines)  # the card and the closing lines, not per-job noise
    assert f"python scripts/compare.py {tmp_path}" in "".join(line.strip() for line in lines[-3:])
    assert not any(noise in out for noise in NOISE)


def test_a_wandb_run_leaves_the_terminal_to_the_summary(tmp_path: Path) -> None:
    out = _run(*FAST, "logger=wandb", f"hydra.run.dir={tmp_path}")
    assert "wandb:" not in out  # W&B's banner, sync hints and sparklines
    assert "W&B run" in out and "wandb sync" in out  # the summary says where it is and how to upload it


def test_a_video_run_prints_its_final_metrics_once(tmp_path: Path) -> None:
    out = _run("case=video_recommendation", *FAST, f"hydra.run.dir={tmp_path}")
    assert out.count("ndcg@10") == 2  # stage 1's table and the final lists' table, not a third time
    assert "…" not in out
