"""End-to-end sweeps on the embedded SQLite storage: real Optuna, real trials (tiny data, few batches)."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, read_run, run_cli
from tests.sweeps.helpers import TINY, load_study, states, summary, write_sweep

pytestmark = pytest.mark.slow


def test_four_trial_sweep_reports_the_best_and_writes_a_runnable_best_config(tmp_path: Path, capsys) -> None:
    study_dir = tmp_path / "study"
    args = ["-m", "case=ad_click", "model=dcn", "sweep=ad_click_dcn", "sweep.study_name=four", "sweep.n_trials=4"]
    assert run_cli(*args, f"sweep.dir={study_dir}", *TINY) == 0
    out = capsys.readouterr().out

    study = load_study(study_dir, "four")
    assert states(study) == dict.fromkeys(range(4), "COMPLETE")
    best = min(study.trials, key=lambda t: t.value)
    assert study.best_trial.number == best.number
    assert "Study four: best 4 of 4 trials by val/nce (minimize)" in out  # the eval suite's metric and mode
    facts = summary(study_dir)
    assert facts["counts"] == {"complete": 4} and facts["best"]["number"] == best.number
    assert facts["best"]["value"] == best.value and facts["metric"] == "val/nce"

    for trial in study.trials:  # each trial: its own run dir and tracking run, grouped by the study
        record = read_run(study_dir / "trials" / f"{trial.number:04d}")
        assert record["status"] == "finished"
        assert record["sweep"]["study"] == "four" and record["sweep"]["trial"] == trial.number
        assert record["objective"]["value"] == trial.value
        assert record["config"]["logger"]["group"] == "four"
        assert f"trial:{trial.number}" in record["config"]["tags"]

    for plot in ("optimization_history", "param_importances", "parallel_coordinate"):
        png = study_dir / "plots" / f"{plot}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", plot
        assert facts["plots"][plot] == str(png)

    # The best config is an experiment preset: running it reproduces the best trial, bit for bit.
    preset = study_dir / "experiment" / "best_four.yaml"
    assert preset.read_text().startswith("# @package _global_")
    assert facts["best_command"] == f"python run.py --config-dir {study_dir.resolve()} experiment=best_four"
    rerun = tmp_path / "rerun"
    assert run_cli("--config-dir", str(study_dir), "experiment=best_four", f"hydra.run.dir={rerun}") == 0
    record = read_run(rerun)
    assert record["objective"]["value"] == best.value
    assert (
        record["model"] == "dcn"
        and record["config"]["model"] == read_run(best.user_attrs["run_dir"])["config"]["model"]
    )


def test_rerunning_the_command_resumes_the_study(tmp_path: Path, capsys) -> None:
    study_dir = tmp_path / "study"
    write_sweep(tmp_path, "lr", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
    args = ["-m", "--config-dir", str(tmp_path), "sweep=lr", "model=lr", f"sweep.dir={study_dir}", "sweep.plots=false"]
    assert run_cli(*args, "sweep.n_trials=2", *TINY) == 0
    first = {n: (study_dir / "trials" / f"{n:04d}" / "run.json").stat().st_mtime_ns for n in (0, 1)}

    assert run_cli(*args, "sweep.n_trials=3", *TINY) == 0  # the same study: one more trial, not three
    study = load_study(study_dir, "lr-debug_fast")
    assert states(study) == dict.fromkeys(range(3), "COMPLETE")
    assert {n: (study_dir / "trials" / f"{n:04d}" / "run.json").stat().st_mtime_ns for n in (0, 1)} == first
    assert read_run(study_dir / "trials" / "0002")["sweep"]["trial"] == 2
    lrs = [t.params["optim.optimizer.lr"] for t in study.trials]
    assert len(set(lrs)) == 3  # the resumed sampler does not propose trial 0's parameters again

    capsys.readouterr()
    assert run_cli(*args, "sweep.n_trials=3", *TINY) == 0  # the study is complete: nothing runs
    assert "the study already has 3 trials (n_trials=3): nothing to run" in capsys.readouterr().out
    assert len(load_study(study_dir, "lr-debug_fast").trials) == 3


def test_failing_trials_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    """A grid of 4: a negative weight decay raises inside training (LazyAdam rejects it; the config
    check leaves it to the optimizer); no validation gives a NaN objective."""
    study_dir = tmp_path / "study"
    write_sweep(
        tmp_path,
        "faults",
        "    optim.optimizer.weight_decay: choice(0.0, -1.0)\n    trainer.limit_val_batches: choice(2, 0)\n",
    )
    args = ["-m", "--config-dir", str(tmp_path), "sweep=faults", "model=lr", f"sweep.dir={study_dir}"]
    assert run_cli(*args, "sweep.sampler.name=grid", "sweep.n_trials=10", "early_stopping=null", *TINY) == 0

    study = load_study(study_dir, "faults-debug_fast")
    assert len(study.trials) == 4  # the grid ran out before n_trials
    by_params = {
        (t.params["optim.optimizer.weight_decay"], t.params["trainer.limit_val_batches"]): t for t in study.trials
    }
    assert by_params[(0.0, 2)].state.name == "COMPLETE"
    for limit in (2, 0):
        raised = by_params[(-1.0, limit)]
        assert raised.state.name == "FAIL" and "invalid LazyAdam hyper-parameters" in raised.user_attrs["error"]
        stored = raised.user_attrs["traceback"]  # header, innermost frames and error kept, however long the paths
        assert stored.startswith("Traceback (most recent call last):\n") and "wd=-1.0" in stored.splitlines()[-1]
        assert read_run(raised.user_attrs["run_dir"])["status"] == "failed"
    nan = by_params[(0.0, 0)]
    assert nan.state.name == "FAIL" and "val/nce is nan" in nan.user_attrs["error"]
    facts = summary(study_dir)
    assert facts["counts"] == {"complete": 1, "fail": 3}
    assert facts["best"]["number"] == by_params[(0.0, 2)].number
    assert {f["number"] for f in facts["failed"]} == {t.number for t in study.trials if t.state.name == "FAIL"}


def test_pruning_stops_a_bad_trial_after_its_first_epoch(tmp_path: Path) -> None:
    study_dir = tmp_path / "study"
    write_sweep(
        tmp_path,
        "prune",
        "    optim.optimizer.lr: tag(log, interval(1e-4, 10.0))\n",
        "  enqueue: [{optim.optimizer.lr: 0.01}, {optim.optimizer.lr: 5.0}]\n"
        "  pruner: {name: median, n_startup_trials: 1}\n",
    )
    args = [
        "-m",
        "--config-dir",
        str(tmp_path),
        "sweep=prune",
        "model=lr",
        f"sweep.dir={study_dir}",
        "sweep.plots=false",
    ]
    assert run_cli(*args, "sweep.n_trials=2", "trainer.max_epochs=3", "early_stopping=null", *TINY) == 0

    good, bad = load_study(study_dir, "prune-debug_fast").trials
    assert (good.params["optim.optimizer.lr"], bad.params["optim.optimizer.lr"]) == (0.01, 5.0)
    assert good.state.name == "COMPLETE" and len(good.intermediate_values) == 3  # one report per epoch
    assert bad.state.name == "PRUNED" and list(bad.intermediate_values) == [0]  # stopped after epoch 1 of 3
    assert bad.intermediate_values[0] > good.intermediate_values[0]
    record = read_run(bad.user_attrs["run_dir"])
    assert record["status"] == "pruned" and "pruned after validation 1" in record["error"]
    assert summary(study_dir)["pruned"] == [bad.number]


def _running_trial(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("select count(*) from trials where state = 'RUNNING'").fetchone()[0] > 0
    except sqlite3.OperationalError:
        return False  # tables not created yet


def test_a_killed_trial_is_recorded_as_failed(tmp_path: Path) -> None:
    """kill -9 a worker mid-trial: its heartbeat stops, the next worker records the trial as failed."""
    study_dir = tmp_path / "study"
    write_sweep(tmp_path, "kill", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
    args = ["-m", "--config-dir", str(tmp_path), "sweep=kill", "model=lr", f"sweep.dir={study_dir}"]
    args += ["sweep.plots=false", "sweep.n_trials=2", "sweep.heartbeat_interval=1", "sweep.grace_period=2"]
    args += ["early_stopping=null", *TINY]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), *args, "trainer.max_epochs=500"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (_running_trial(study_dir / "study.db") and (study_dir / "trials" / "0000" / "run.json").exists()):
            assert worker.poll() is None and time.monotonic() < deadline, "the first worker never started its trial"
            time.sleep(0.5)
        time.sleep(1.0)  # well into training
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    time.sleep(3)  # past the grace period: the trial's heartbeat is stale

    # A new worker on the same study; it trains shorter, which the study allows only when told to.
    assert run_cli(*args, "trainer.max_epochs=1", "sweep.allow_changes=true") == 0
    study = load_study(study_dir, "kill-debug_fast")
    killed, fresh = study.trials
    assert killed.state.name == "FAIL" and "no heartbeat for over 2s" in killed.user_attrs["error"]
    assert fresh.state.name == "COMPLETE" and math.isfinite(fresh.value)
    record = read_run(study_dir / "trials" / "0000")
    assert record["status"] == "failed" and "no heartbeat" in record["error"]


def _wandb_run_record(run_dir: Path) -> dict:
    """The run record of an offline W&B run (group, tags), read with W&B's own reader."""
    (offline,) = (run_dir / "wandb").glob("offline-run-*")
    done = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(offline)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return next(r["run"] for r in map(json.loads, done.stdout.splitlines()) if r.get("type") == "run")


def test_each_trial_is_a_tracking_run_grouped_by_study(tmp_path: Path) -> None:
    study_dir = tmp_path / "study"
    write_sweep(tmp_path, "wb", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
    args = ["-m", "--config-dir", str(tmp_path), "sweep=wb", "model=lr", f"sweep.dir={study_dir}", "sweep.plots=false"]
    assert run_cli(*args, "sweep.n_trials=2", *TINY, "logger.kind=wandb") == 0  # W&B offline (tests/conftest.py)
    ids = set()
    for number in (0, 1):
        run = _wandb_run_record(study_dir / "trials" / f"{number:04d}")
        assert run["run_group"] == "wb-debug_fast"  # TINY has debug=fast: its own study
        assert {"study:wb-debug_fast", f"trial:{number}"} <= set(run["tags"])
        ids.add(run["run_id"])
    assert len(ids) == 2  # one W&B run per trial


def test_ctrl_c_records_the_running_trial_as_failed_and_stops_the_worker(tmp_path: Path) -> None:
    study_dir = tmp_path / "study"
    write_sweep(tmp_path, "stop", "    optim.optimizer.lr: tag(log, interval(1e-3, 1e-1))\n")
    args = ["-m", "--config-dir", str(tmp_path), "sweep=stop", "model=lr", f"sweep.dir={study_dir}", "sweep.n_trials=3"]
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), *args, *TINY, "trainer.max_epochs=500", "early_stopping=null"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # Ctrl-C as in a terminal
    )
    deadline = time.monotonic() + 120
    while not (_running_trial(study_dir / "study.db") and (study_dir / "trials" / "0000" / "run.json").exists()):
        assert worker.poll() is None and time.monotonic() < deadline, "the worker never started its trial"
        time.sleep(0.5)
    time.sleep(2.0)
    worker.send_signal(signal.SIGINT)
    output = worker.communicate(timeout=60)[0]
    assert worker.returncode == 130, output[-3000:]
    (trial,) = load_study(study_dir, "stop-debug_fast").trials  # stopped: no further trials started
    assert trial.state.name == "FAIL" and "interrupted" in trial.user_attrs["error"]
    assert read_run(study_dir / "trials" / "0000")["status"] == "failed"


@pytest.mark.parametrize("sweep", ["video_two_tower", "video_mf"])
def test_video_stage_one_sweeps_start_from_the_shipped_defaults(sweep: str, tmp_path: Path) -> None:
    study_dir = tmp_path / "study"
    args = ["-m", f"sweep={sweep}", "sweep.n_trials=2", f"sweep.dir={study_dir}", "sweep.plots=false"]
    assert run_cli(*args, "debug=fast", "logger=none", "trainer.enable_progress_bar=false") == 0
    study = load_study(study_dir, f"{sweep}-debug_fast")
    assert states(study) == {0: "COMPLETE", 1: "COMPLETE"}
    assert all(math.isfinite(t.value) for t in study.trials)
    record = read_run(study_dir / "trials" / "0000")
    assert record["config"]["case"]["name"] == "video_recommendation" and record["config"]["ranker"] is None
    enqueued = {"optim.optimizer.lr": 0.0034 if sweep == "video_two_tower" else 0.001}
    assert {k: study.trials[0].params[k] for k in enqueued} == enqueued  # trial 0 = the shipped default
    assert summary(study_dir)["metric"] == "val/ndcg@10"
