"""The report files and scripts/compare.py, on run.json files with known values."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from framework.tracking.compare import build_comparisons
from framework.tracking.report import diff_table, format_cell, metrics_table
from tests.compare.fakes import record, write_runs
from tests.conftest import ROOT

PNG = b"\x89PNG\r\n\x1a\n"


def compare_main(*args: str) -> int:
    """scripts/compare.py's main() in this process."""
    spec = importlib.util.spec_from_file_location("compare_script", ROOT / "scripts" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(list(args))


def _sweep(tmp_path: Path) -> Path:
    nce = {"lr": [1.0, 1.1, 1.2], "dcn": [0.9, 0.95, 1.15]}
    runs = [record(m, s, nce=v, order=i) for i, (m, s, v) in
            enumerate((m, s, v) for m, vs in nce.items() for s, v in enumerate(vs, start=1))]  # fmt: skip
    return write_runs(tmp_path / "sweep", runs)


def test_tables_show_mean_std_and_the_paired_difference(tmp_path: Path) -> None:
    from framework.tracking.registry import load_records

    _, [c], _ = build_comparisons(load_records([_sweep(tmp_path)])[0])
    headers, rows = metrics_table(c)
    assert headers == ["model", "seeds", "nce ↓", "auroc ↑", "calibration"]
    assert rows[0][:3] == ["lr (baseline)", "3", "1.1000 ± 0.1000"]
    assert rows[1][:3] == ["dcn", "3", "1.0000 ± 0.1323"]  # sqrt(0.0175) = 0.1323
    headers, rows = diff_table(c)
    assert headers[:3] == ["model", "paired seeds", "Δ nce ↓"]
    assert rows == [["dcn", "3", "-0.1000 n.s. [-0.1500, -0.0500] p=0.074",
                     "+0.0000 n.s. [+0.0000, +0.0000] p=1.000", "+0.0000 n.s. [+0.0000, +0.0000] p=1.000"]]  # fmt: skip
    assert format_cell("cost/parameters", c.row("model=dcn").values["cost/parameters"]) == "1.0k"


def test_compare_writes_markdown_html_plots_csv_and_json(tmp_path: Path, capsys) -> None:
    sweep = _sweep(tmp_path)
    assert compare_main(str(sweep)) == 0
    out = sweep / "report"
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed
    assert "1.1000 ± 0.1000" in printed  # the Rich table
    markdown = (out / "report.md").read_text()
    assert "| lr (baseline) | 3 | 1.1000 ± 0.1000 |" in markdown
    assert "| dcn | 3 | -0.1000 n.s. [-0.1500, -0.0500] p=0.074 |" in markdown
    assert "![ad_click metrics](ad_click_metrics.png)" in markdown
    for name in ("ad_click_metrics.png", "ad_click_pareto.png"):
        assert (out / name).read_bytes().startswith(PNG)
    page = (out / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 2 and all(base64.b64decode(i).startswith(PNG) for i in images)
    assert not re.search(r"src=['\"](?!data:)", page)  # self-contained: nothing loaded from elsewhere
    assert "<td>1.1000 ± 0.1000</td>" in page
    summary = json.loads((out / "summary.json").read_text())
    dcn = summary[0]["choices"][1]
    assert dcn["choice"] == "model=dcn" and dcn["diffs"]["test/nce"]["verdict"] == "n.s."
    assert dcn["values"]["test/nce"]["mean"] == pytest.approx(1.0)
    csv = (out / "runs.csv").read_text().splitlines()
    assert len(csv) == 7 and csv[0].startswith("case,choice,seed")
    assert not list(out.glob(".*"))  # no temporary files left
    assert (out / "report.html").stat().st_mode & 0o044  # readable by others (umask permitting)


def test_compare_options(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    out = tmp_path / "elsewhere"
    assert compare_main(str(sweep), "--baseline", "model=dcn", "--metric", "auroc", "--out", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())[0]
    assert summary["baseline"] == "model=dcn" and summary["metrics"][0] == "test/auroc"
    assert compare_main(str(sweep / "0"), str(sweep / "3"), "--out", str(out)) == 0  # two single runs
    assert "| dcn | 1 | n/a | n/a | n/a |" in (out / "report.md").read_text()  # one seed each: no test
    assert compare_main(str(sweep), "--baseline", "model=fm") == 2


def test_compare_cli_bad_input_exits_2_with_a_message(tmp_path: Path) -> None:
    script = [sys.executable, str(ROOT / "scripts" / "compare.py")]
    empty = subprocess.run([*script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert empty.returncode == 2
    assert "no run.json found under" in empty.stderr and "Traceback" not in empty.stderr
    nothing = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert nothing.returncode == 2 and "give run or multirun directories" in nothing.stderr
    helped = subprocess.run([*script, "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--baseline KEY=VALUE" in helped.stdout and "--wandb PROJECT" in helped.stdout
