"""The README's `python run.py` examples run as written (shrunk with debug=fast; real-data paths skipped)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, run_subprocess

pytestmark = pytest.mark.slow


def readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            # sweep commands run shrunk to two trials in tests/sweeps/test_readme_sweeps.py
            # no SLURM here: tests/pipeline/test_launchers.py composes that launcher and runs submitit locally
            skip = "/data/" in line or "hydra.run.dir=" in line or " sweep=" in line or "launcher=slurm" in line
            if line.startswith("python run.py") and not skip:
                commands.append(shlex.split(line)[2:])
    return commands


COMMANDS = readme_commands()


def test_the_readme_has_examples() -> None:
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) or "(defaults)" for a in COMMANDS])
def test_readme_example_runs(args: list[str], tmp_path: Path) -> None:
    preset = [a.removeprefix("experiment=") for a in args if a.startswith("experiment=")]
    if sorted(args) == sorted(["-m", *(f"experiment={p}" for p in preset)]) and len(preset) == 1:
        # a preset as it is: tests/compare/test_presets.py runs its whole grid in debug mode (one seed, the
        # very command this would run); here it only has to name a preset that composes and validates
        _composes_and_validates(f"experiment={preset[0]}")
        return
    if "--cfg" in args or "-m" in args or "--multirun" in args:
        # one seed of a preset's grid: the same code path (tests/compare/test_presets.py checks the seeds)
        done = run_subprocess(*args, "debug=fast", *(["seed=1"] if "-m" in args else []), timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return
    shrink = ["debug=fast", "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp_path}"]
    args = [a for a in args if not a.startswith("trainer.max_epochs=")]  # debug=fast sets the epochs
    if any(a.startswith("hardware=ddp") for a in args):
        done = run_subprocess(*args, *shrink)
        assert done.returncode == 0, done.stderr[-3000:]
    else:
        assert run_cli(*args, *shrink) == 0
    assert (tmp_path / "run.json").exists()


def test_readme_resume_example(tmp_path: Path) -> None:
    run_dir = f"hydra.run.dir={tmp_path / 'my_run'}"
    assert run_cli("model=deepfm", "debug=fast", run_dir) == 0
    # resuming a finished run continues from its last checkpoint: nothing left to train, same metrics
    assert run_cli("model=deepfm", "debug=fast", run_dir, "resume=true") == 0


def _composes_and_validates(*overrides: str) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from framework.config_dir import CONF_DIR
    from framework.validation import validate

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        validate(compose("run", overrides=list(overrides)))
