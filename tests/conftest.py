"""Test fixtures: an isolated environment per session, the CLI in-process, and the shared real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("MLSD_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`make test-all`: a worker per core) each worker computes on one thread, as do
    the runs it starts: two workers of two threads each on two cores spend their time waiting on each
    other (the suite ran 1.7x slower per test that way)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = "1"


@pytest.fixture(autouse=True, scope="session")
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches, outputs and W&B files under a temporary folder; W&B offline; no network."""
    base = tmp_path_factory.mktemp("mlsd-env")
    env = {
        "MLSD_CACHE_DIR": base / "cache",
        "MLSD_OUTPUT_DIR": base / "outputs",
        "WANDB_DIR": base / "wandb",
        "WANDB_CACHE_DIR": base / "wandb-cache",
        "WANDB_CONFIG_DIR": base / "wandb-config",
        "WANDB_DATA_DIR": base / "wandb-data",
    }
    for key, value in env.items():
        value.mkdir(parents=True, exist_ok=True)
        os.environ[key] = str(value)
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    return base


def run_cli(*args: str) -> int:
    """`python run.py *args` in this process; returns the exit code (0 on success)."""
    from hydra.core.global_hydra import GlobalHydra

    from framework.cli import main

    GlobalHydra.instance().clear()
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        _close_run_log()
    return 0


def _close_run_log() -> None:
    """Detach the run's log file (Hydra's job logging adds it to the root logger): a later test's library
    logging would otherwise write into it, or fail where a config error left its folder uncreated."""
    import logging

    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
        root.removeHandler(handler)
        handler.close()


def run_subprocess(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python run.py *args` in a fresh interpreter (exit codes, DDP launches, kill/resume)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def read_run(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "run.json").read_text())


def shared_file(relative: str) -> Path:
    """A file of ../shared/data; the test is skipped, with the reason, where it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared test data not available: {path} (set MLSD_SHARED_DATA to its folder)")
    return path


# Small runs: a few batches on a few thousand synthetic rows, no tracker, no progress bar.
FAST = ("debug=fast", "trainer.enable_progress_bar=false")
