"""The wheel: `pip install .` gives an `mlsd` command that runs outside a checkout (configs inside the package).

Builds the wheel from a copy of the sources (setuptools' in-tree `build/` would otherwise land in the checkout
and could carry stale modules), installs it with `--no-deps --no-index` into a fresh venv that sees this venv's
site-packages through a .pth file (torch & co. are not downloaded again), and runs `mlsd` from a folder outside
the checkout, without PYTHONPATH: the checkout's `framework` can not be the one imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PIP = (sys.executable, "-m", "pip")
QUICK = ("debug=fast", "logger=none", "trainer.enable_progress_bar=false")
WHERE = (  # where the package, the sweeper plugin and the configs are imported from
    "import framework, hydra_plugins.mlsd_sweeper as s; from framework.config_dir import CONF_DIR; "
    "print(framework.__file__); print(s.__file__); print(CONF_DIR)"
)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _build_wheel(tmp_path: Path, env: dict[str, str]) -> Path:
    """`pip wheel --no-deps --no-build-isolation` of the wheel's sources (no network: this venv's setuptools)."""
    src = tmp_path / "src"
    src.mkdir()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = set(pyproject["tool"]["setuptools"]["package-dir"].values())  # framework, conf, hydra_plugins
    for folder in sorted(folders):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", pyproject["project"]["readme"]):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    pip_wheel = [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-v", "-w", str(dist), str(src)]
    built = _run(pip_wheel, cwd=tmp_path, env=env)
    warnings = [line for line in (built.stdout + built.stderr).splitlines() if "Warning: " in line]
    assert not warnings, warnings  # e.g. setuptools' BuildBackendWarning on a deprecated pyproject.toml field
    (wheel,) = dist.glob("mlsd-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A venv with the wheel installed, and this venv's site-packages (the dependencies) after its own."""
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib], cwd=tmp_path, env=env).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "mlsd_test_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    pip_install = [*PIP, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)]
    _run(pip_install, cwd=tmp_path, env=env)
    return target


def test_installed_wheel_runs_mlsd_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    wheel = _build_wheel(tmp_path, env)
    target = _fresh_venv(tmp_path, wheel, env)
    elsewhere = tmp_path / "elsewhere"  # the cwd of every command: outside the checkout
    elsewhere.mkdir()
    for name in ("cache", "outputs"):
        (tmp_path / name).mkdir()
    env |= {
        "PATH": f"{target / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(target),
        "MLSD_CACHE_DIR": str(tmp_path / "cache"),
        "MLSD_OUTPUT_DIR": str(tmp_path / "outputs"),
        "WANDB_MODE": "disabled",
    }

    where = _run([str(target / "bin" / "python"), "-c", WHERE], cwd=elsewhere, env=env).stdout.split()
    for path in where:  # the package, the sweeper plugin and the configs all come from the new venv
        assert Path(path).resolve().is_relative_to(target.resolve()), (path, target)
        assert not Path(path).resolve().is_relative_to(ROOT), path
    assert Path(where[2]).name == "conf" and (Path(where[2]) / "run.yaml").is_file()

    mlsd = shutil.which("mlsd", path=env["PATH"])
    assert mlsd is not None and Path(mlsd).parent == target / "bin"
    help_text = _run([mlsd, "--help"], cwd=elsewhere, env=env).stdout
    for group in ("case=", "model=", "dataset=", "sweep="):
        assert group in help_text, help_text

    run_dir = tmp_path / "run"
    _run([mlsd, *QUICK, f"hydra.run.dir={run_dir}"], cwd=elsewhere, env=env)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "finished", record.get("error")

    # `-m sweep=...`: Hydra finds the mlsd sweeper in the installed hydra_plugins; one trial, to the end
    _run(
        [mlsd, "-m", "sweep=ad_click_lr", "sweep.n_trials=1", "sweep.study_name=wheel", *QUICK], cwd=elsewhere, env=env
    )
    summary = json.loads((tmp_path / "outputs" / "sweeps" / "wheel" / "summary.json").read_text())
    assert summary["counts"] == {"complete": 1}, summary
    assert not list(elsewhere.iterdir())  # nothing written into the working folder: outputs went to MLSD_OUTPUT_DIR
