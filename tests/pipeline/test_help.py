"""`--help` answers fast and helps: every case with its default and fitting models, the groups as
overrides one can paste, a video and a compare example."""

from __future__ import annotations

import subprocess
import sys

from framework.config_dir import CONF_DIR
from tests.conftest import ROOT


def test_help_lists_cases_with_their_models_and_pasteable_groups() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert "case=ad_click model=dcn   # ctr; models: model=dcn,dcn_v2,deepfm,dnn,fm,lr,wide_deep" in lines
    assert "case=video_recommendation model=two_tower   # two_stage; models: model=mf,two_tower" in lines
    for group in ("case", "model", "dataset", "experiment", "sweep", "index", "ranker"):
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        assert f"{group}={','.join(options)}" in lines, group
    assert any(line.startswith("python run.py case=video_recommendation") for line in lines)
    assert any(line.startswith("python scripts/compare.py") for line in lines)
    assert "python run.py -sc install=bash" in done.stdout
