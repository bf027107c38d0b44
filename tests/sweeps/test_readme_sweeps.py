"""The README's sweep commands run as written, shrunk: two tiny trials each, a study per command.
(tests/pipeline/test_readme.py runs the README's other commands.)"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.sweeps.helpers import TINY

pytestmark = pytest.mark.slow


def sweep_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("python run.py") and " sweep=" in line:
                commands.append(shlex.split(line)[2:])
    return commands


COMMANDS = sweep_commands()


def test_the_readme_shows_the_sweep_commands() -> None:
    assert ["-m", "case=ad_click", "model=dcn", "sweep=ad_click_dcn"] in COMMANDS
    assert any(a.startswith("sweep.storage=postgresql://") for c in COMMANDS for a in c)  # the distributed one


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_readme_sweep_runs(args: list[str], tmp_path: Path) -> None:
    if any(a.startswith("sweep.storage=postgresql://") for a in args):
        url = os.environ.get("MLSD_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("MLSD_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server)")
        args = [f"sweep.storage={url}" if a.startswith("sweep.storage=") else a for a in args]
        args += [f"sweep.study_name=readme-{os.getpid()}-{tmp_path.name}"]
    shrink = [*TINY, f"sweep.dir={tmp_path}", "sweep.n_trials=2", "sweep.plots=false"]
    assert run_cli(*args, *shrink) == 0
    assert (tmp_path / "summary.json").exists()
