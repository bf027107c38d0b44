"""Scale-out through Hydra's launchers: a multirun's jobs in parallel processes (joblib) or as submitit jobs
(the SLURM config composes; submitit's local executor runs a real job), with the basic launcher's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from framework.config_dir import CONF_DIR
from tests.conftest import run_subprocess

JOBS = ("-m", "case=ad_click", "model=lr,fm", "debug=fast", "logger=none", "trainer.enable_progress_bar=false")


def _test_metrics(sweep_dir: Path) -> dict[str, dict[str, float]]:
    """Each job's test metrics, by its model."""
    out = {}
    for record in sorted(sweep_dir.glob("*/run.json")):
        run = json.loads(record.read_text())
        out[run["model"]] = {k: v for k, v in run["metrics"].items() if k.startswith("test/")}
    return out


@pytest.mark.slow
def test_joblib_and_submitit_launchers_give_the_basic_launchers_numbers(tmp_path: Path) -> None:
    runs = {}
    for name, launcher in (
        ("basic", []),
        ("joblib", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]),
        ("submitit", ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"]),
    ):
        done = run_subprocess(*JOBS, *launcher, f"hydra.sweep.dir={tmp_path / name}")
        assert done.returncode == 0, done.stderr[-2000:]
        runs[name] = _test_metrics(tmp_path / name)
    assert set(runs["basic"]) == {"lr", "fm"} and runs["basic"]["lr"]["test/nce"] > 0
    assert runs["joblib"] == runs["basic"]  # bit for bit: same config and seed in another process
    assert runs["submitit"] == runs["basic"]
    assert (tmp_path / "submitit" / ".submitit").is_dir()  # submitit's own logs, beside the runs


def test_the_slurm_launcher_config_composes_with_its_defaults_and_overrides() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        overrides = ["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=4"]
        cfg = compose("run", overrides=overrides, return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.partition, launcher.gpus_per_node, launcher.tasks_per_node) == ("gpu", 4, 1)
    assert launcher.max_num_timeout == 0  # a requeued job would meet its own checkpoint without resume=true
    assert launcher.submitit_folder == f"{cfg.hydra.sweep.dir}/.submitit/%j"  # SLURM's logs beside the runs


def test_an_optuna_sweep_refuses_a_parallel_launcher_with_the_way_to_scale_it(tmp_path: Path) -> None:
    done = run_subprocess(
        "-m", "sweep=ad_click_dcn", "hydra/launcher=joblib", "logger=none", f"hydra.sweep.dir={tmp_path}"
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "basic launcher" in done.stderr and "postgresql" in done.stderr
