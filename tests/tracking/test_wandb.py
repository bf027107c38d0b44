"""What W&B records, read back from the offline run files with `wandb leet inspect` (no mocks, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.compare.wandb_source import read_offline_run, record_from_offline_run
from tests.conftest import FAST, read_run, run_cli, run_subprocess

WANDB = (*FAST, "logger.kind=wandb")


def _offline_runs(root: Path) -> list[Path]:
    return sorted(root.glob("**/wandb/offline-run-*"))


def test_offline_run_holds_nested_config_group_job_type_tags_and_summary(tmp_path: Path) -> None:
    assert run_cli(*WANDB, "model=fm", "seed=7", "tags=[study-a]", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    [wandb_dir] = _offline_runs(tmp_path)
    assert record["tracking"]["wandb_dir"] == str(wandb_dir)  # run.json links its W&B run
    assert record["tracking"]["wandb_mode"] == "offline" and record["tracking"]["wandb_group"] == "ad_click"
    run = read_offline_run(wandb_dir)
    assert run["state"] == "finished" and run["exit_code"] == 0
    assert run["run_id"] == record["tracking"]["wandb_run_id"] == (tmp_path / "wandb_id.txt").read_text().strip()
    assert (run["group"], run["job_type"], run["name"]) == ("ad_click", "fm", "ad_click-fm-seed7")
    assert run["tags"] == ["dataset:click_log_synthetic", "hardware:cpu", "study-a"]
    config = {k: v for k, v in run["config"].items() if k != "_wandb"}
    assert config == record["config"]  # the resolved config, nested as in run.json
    assert config["model"]["_target_"] == "framework.models.ranking.fm.FactorizationMachine"
    assert not any("/" in k or "." in k for k in config)  # not flattened
    summary = run["summary"]
    for name, value in record["metrics"].items():
        assert summary[name] == pytest.approx(value), name
    assert summary["timings"] == record["timings"] and summary["run_dir"] == str(tmp_path.resolve())
    assert summary["choices"]["model"] == "fm" and summary["parameters"] == record["parameters"]


def test_an_offline_run_reads_back_as_the_same_record(tmp_path: Path) -> None:
    """The W&B reader (what `compare.py --wandb` uses) gives the registry what run.json gives it."""
    from framework.compare.build import build_comparisons

    assert run_cli(*WANDB, f"hydra.run.dir={tmp_path}") == 0
    local = read_run(tmp_path)
    remote = record_from_offline_run(_offline_runs(tmp_path)[0])
    assert remote["status"] == "finished" and remote["case"] == "ad_click" and remote["model"] == "dcn"
    assert {k: v for k, v in remote["config"].items()} == local["config"]
    assert {k: remote["metrics"][k] for k in local["metrics"]} == pytest.approx(local["metrics"])
    for key in ("seed", "timings", "choices", "parameters", "objective", "run_dir", "started_at"):
        assert remote[key] == local[key], key
    (_, [from_wandb], _), (_, [from_disk], _) = build_comparisons([remote]), build_comparisons([local])
    assert from_wandb.rows[0].values == from_disk.rows[0].values


def test_one_wandb_run_per_multirun_job_even_after_a_failed_job(tmp_path: Path) -> None:
    """Job 0 fails inside training (LazyAdam rejects a beta of 1.5; the config check does not know betas)
    after its W&B run started; job 1 must get a W&B run of its own, and job 0's must end as failed."""
    with pytest.raises(ValueError, match="invalid LazyAdam"):
        betas = "+optim.optimizer.betas=[0.9,1.5],[0.9,0.999]"
        run_cli("-m", *WANDB, betas, f"hydra.sweep.dir={tmp_path}")
    failed, ok = read_run(tmp_path / "0"), read_run(tmp_path / "1")
    assert failed["status"] == "failed" and ok["status"] == "finished"
    runs = [read_offline_run(d) for d in _offline_runs(tmp_path)]
    assert len(runs) == 2 and runs[0]["run_id"] != runs[1]["run_id"]
    by_beta = {r["config"]["optim"]["optimizer"]["betas"][1]: r for r in runs}
    assert by_beta[1.5]["exit_code"] == 1 and by_beta[1.5]["state"] == "failed"
    assert by_beta[0.999]["exit_code"] == 0 and by_beta[0.999]["state"] == "finished"
    assert by_beta[0.999]["run_id"] == ok["tracking"]["wandb_run_id"]
    assert "test/nce" in by_beta[0.999]["summary"] and "test/nce" not in by_beta[1.5]["summary"]
    assert by_beta[1.5]["summary"]["status"] == "failed"


def test_online_mode_without_a_login_stops_early_with_a_message(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # a host no stored login can be for
    assert run_cli(*WANDB, "logger.mode=online", f"hydra.run.dir={tmp_path / 'run'}") == 2
    assert read_run(tmp_path / "run")["status"] == "failed"
    assert not (tmp_path / "run" / "checkpoints").exists()  # stopped before training


@pytest.mark.slow
def test_ddp_run_makes_one_wandb_run_from_rank_zero(tmp_path: Path) -> None:
    done = run_subprocess(*WANDB, "hardware=ddp_cpu", f"hydra.run.dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-3000:]
    [wandb_dir] = _offline_runs(tmp_path)
    run = read_offline_run(wandb_dir)
    assert run["state"] == "finished" and run["tags"] == ["dataset:click_log_synthetic", "hardware:ddp_cpu"]
    assert run["config"]["trainer"]["devices"] == 2 and run["run_id"] == read_run(tmp_path)["tracking"]["wandb_run_id"]
