"""The report files and scripts/compare.py, on run.json files with known values."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from framework.compare.build import build_comparisons
from framework.compare.tables import costs_table, diff_table, format_cell, metrics_table
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
    runs = [
        record(m, s, nce=v, order=i)
        for i, (m, s, v) in enumerate((m, s, v) for m, vs in nce.items() for s, v in enumerate(vs, start=1))
    ]
    return write_runs(tmp_path / "sweep", runs)


def test_tables_show_mean_std_and_the_paired_difference(tmp_path: Path) -> None:
    from framework.compare.runs import load_records

    _, [c], _ = build_comparisons(load_records([_sweep(tmp_path)])[0])
    headers, rows = metrics_table(c)
    assert headers == ["model", "seeds", "nce ↓", "auroc ↑", "calibration"]
    assert rows[0][:3] == ["lr (baseline)", "3", "1.1000 ± 0.1000"]
    assert rows[1][:3] == ["dcn", "3", "**1.0000 ± 0.1323**"]  # sqrt(0.0175) = 0.1323; the best nce: bold
    headers, rows = diff_table(c)
    assert headers[:3] == ["model", "paired seeds", "Δ nce ↓"]
    assert rows == [
        [
            "dcn",
            "3",
            "-0.1000 n.s. [-0.1500, -0.0500] p=0.074",
            "+0.0000 n.s. [+0.0000, +0.0000] p=1.000",
            "+0.0000 n.s. [+0.0000, +0.0000] p=1.000",
        ]
    ]
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
    for name in ("ad_click_metrics.png", "ad_click_differences.png", "ad_click_pareto.png"):
        assert (out / name).read_bytes().startswith(PNG)
    page = (out / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(PNG) for i in images)  # metrics, Δ, Pareto
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


def _significant_sweep(tmp_path: Path, seeds: int = 3, **config) -> Path:
    """lr then dcn; dcn's nce is 0.1 lower on every seed: significantly better."""
    runs = [
        record(m, s, nce=1.0 + 0.1 * s - (0.1 if m == "dcn" else 0.0), order=i, **config)
        for i, (m, s) in enumerate((m, s) for m in ("lr", "dcn") for s in range(1, seeds + 1))
    ]
    return write_runs(tmp_path / "sweep", runs)


def test_report_opens_with_the_verdict_and_marks_winners(tmp_path: Path) -> None:
    """Issue item 7: who won, by how much, significant or not, before any table; winners bold, Δ coloured."""
    sweep = _significant_sweep(tmp_path)
    assert compare_main(str(sweep)) == 0
    markdown = (sweep / "report" / "report.md").read_text()
    verdict = markdown.split("\n")[2]
    assert verdict.startswith("**ad_click.** **dcn** has the best mean `nce` ↓")
    assert "against the baseline lr: -0.1000 [95% CI -0.1000, -0.1000], p<0.001: significantly better." in verdict
    assert markdown.index(verdict) < markdown.index("| model |")
    assert "| dcn (baseline) |" not in markdown and "| dcn | 3 | **1.1000 ± 0.1000** |" in markdown
    assert "| dcn | 3 | -0.1000 **better** [-0.1000, -0.1000] p<0.001 |" in markdown
    page = (sweep / "report" / "report.html").read_text()
    assert page.index("class='verdict'") < page.index("<table>")
    assert "<td class='better'>-0.1000 better<br>" in page and "<b>1.1000 ± 0.1000</b>" in page
    for line in re.findall(r"^\|.*\|$", markdown, flags=re.M):  # Δ tables split: no row of 6+ Δ cells
        assert line.count(" p") <= 3


def test_report_states_the_shared_settings_and_what_one_seed_cannot_say(tmp_path: Path) -> None:
    """Issue item 8: a smoke test or a one-seed comparison cannot pass for a measurement."""
    runs = [record(m, 1, order=i, **{"trainer.limit_train_batches": 3}) for i, m in enumerate(("lr", "dcn"))]
    for r in runs:
        r["choices"]["debug"] = "fast"
        r["data"] = {"rows": {"train": 3200, "valid": 400, "test": 400}}
        r["epochs"] = 1
    sweep = write_runs(tmp_path / "sweep", runs)
    assert compare_main(str(sweep)) == 0
    markdown = (sweep / "report" / "report.md").read_text()
    head = markdown.split("## ad_click")[0]
    assert "smoke test: debug=fast" in head and "one seed per choice: no difference can be judged" in head
    assert "Fixed: dataset: click_log_synthetic · rows: train 3,200 · valid 400 · test 400" in markdown
    assert "limit_train_batches=3 · debug: fast · hardware: cpu" in markdown
    summary = json.loads((sweep / "report" / "summary.json").read_text())[0]
    assert summary["settings"]["debug"] == "fast" and len(summary["caveats"]) == 2
    assert "no difference can be judged" in summary["verdict"]


def test_trees_and_untrained_baselines_are_not_said_to_run_epochs() -> None:
    from framework.compare.settings import SETTINGS

    trees, baseline, network = record("lr"), record("lr"), record("dcn")
    trees.update(epochs=120, lightgbm_curve={"valid": []})
    baseline.update(epochs=0, trained=False)
    network["epochs"] = 2
    training = SETTINGS["training"]
    assert training(trees) == "120 boosting round(s) kept" and training(baseline) == "not trained"
    assert training(network) == "2 epoch(s) run, max_epochs=3"


def _two_stage(order: int, index: str, seed: int, recall: float, report: dict | None) -> dict:
    run = record("dcn", seed, order=order, **{"index": {"name": index}})
    run["metrics"].update({"index/recall@100": recall, "serving/stage1_p99_ms": 1.0 + order, "test/aux": 0.5})
    run["config"]["retrieval"] = {"eval": {"metrics": {"recall@10": {"_target_": "framework.metrics.topk.RecallAtK"}}}}
    if report is not None:
        run["config"]["case"]["report"] = report
    return run


def test_case_report_names_extra_metrics_and_cost_axes(tmp_path: Path) -> None:
    """Issue item 9: case.report.metrics (patterns) and case.report.costs reach the tables, plots and runs.csv."""
    report = {"metrics": ["index/recall@*"], "costs": ["serving/stage1_p99_ms", "cost/p99_ms"]}
    runs = [
        _two_stage(i, ix, s, r, report)
        for i, (ix, s, r) in enumerate([("exact", 1, 1.0), ("exact", 2, 1.0), ("hnsw", 1, 0.9), ("hnsw", 2, 0.92)])
    ]
    _, [c], _ = build_comparisons(runs)
    assert c.metrics[:2] == ["test/nce", "index/recall@100"] and c.directions["index/recall@100"] is True
    assert c.costs == c.pareto_costs == ["serving/stage1_p99_ms", "cost/p99_ms"]  # no training time axis
    assert set(c.row("name=hnsw").pareto) == {"serving/stage1_p99_ms", "cost/p99_ms"}
    sweep = write_runs(tmp_path / "sweep", runs)
    assert compare_main(str(sweep), "--metric", "index/recall@100") == 0
    csv = (sweep / "report" / "runs.csv").read_text().splitlines()[0].split(",")
    assert "index/recall@100" in csv and "serving/stage1_p99_ms" in csv
    markdown = (sweep / "report" / "report.md").read_text()
    assert "| name | stage1 p99 ms | p99 ms | Pareto front |" in markdown
    old = [_two_stage(i, ix, 1, 1.0, None) for i, ix in enumerate(("exact", "hnsw"))]  # run.json before the node
    _, [c], _ = build_comparisons(old)
    assert "index/recall@100" not in c.metrics and c.costs == [
        "cost/fit_s",
        "cost/samples_per_s",
        "cost/p99_ms",
        "cost/parameters",
    ]


def test_negative_downsampling_reports_the_rows_each_choice_trained_on() -> None:
    report = {"costs": ["cost/fit_s", "cost/train_rows", "cost/samples_per_s"]}
    runs = []
    for i, (rate, kept) in enumerate([(1.0, 80_000), (1.0, 80_000), (0.25, 27_400), (0.25, 27_380)]):
        r = record("dcn", seed=1 + i % 2, order=i, **{"dataset.negative_rate": rate, "case.report": report})
        r["data"] = {"rows": {"train": 80_000, "valid": 10_000, "test": 10_000}, "downsampling": {"rows_kept": kept}}
        runs.append(r)
    _, [c], _ = build_comparisons(runs)
    assert c.costs == ["cost/fit_s", "cost/train_rows", "cost/samples_per_s"]
    headers, rows = costs_table(c)
    assert headers[:4] == ["negative_rate", "train s", "train rows", "samples/s"]
    assert rows[1][2] == "**27,390 ± 14**"  # fewest rows: bold
    del runs[0]["data"]["downsampling"]  # run.json before downsampling existed: the train split
    assert build_comparisons(runs)[1][0].row(c.baseline).values["cost/train_rows"].mean == 80_000


def test_adhoc_runs_are_labelled_by_every_changed_key_and_can_be_sorted(tmp_path: Path) -> None:
    """Issue item 11: a run that changed four keys is labelled by four; --sort and --top."""
    changed = {
        "model.embedding_dim": 32,
        "model.hidden_units": [64],
        "optim.optimizer.lr": 0.01,
        "dataset.batch_size": 512,
    }
    runs = [record("dcn", 1, nce=0.9, order=0), record("dcn", 1, nce=0.8, order=1, **changed)]
    runs += [record("dcn", 1, nce=0.7 - 0.01 * i, order=2 + i, **{"model.embedding_dim": 40 + 8 * i}) for i in (1, 2)]
    _, [c], _ = build_comparisons(runs)
    assert c.rows[1].label == "batch_size=512, embedding_dim=32, hidden_units=[64], lr=0.01"
    sweep = write_runs(tmp_path / "sweep", runs)
    assert compare_main(str(sweep), "--sort", "nce", "--top", "2") == 0
    summary = json.loads((sweep / "report" / "summary.json").read_text())[0]
    assert summary["sorted_by"] == "test/nce" and summary["hidden_choices"] == 1
    shown = [ch["values"]["test/nce"]["mean"] for ch in summary["choices"]]
    assert shown == pytest.approx([0.68, 0.69, 0.9])  # the best two, then the baseline (always kept)
    assert compare_main(str(sweep), "--sort", "calibration") == 2  # no better direction: an error


def test_compare_at_80_columns_cuts_no_path_and_splits_no_number(tmp_path: Path) -> None:
    """Issue item 13: in a pipe (80 columns) tables split or wrap headers; numbers and paths stay whole."""
    deep = tmp_path / ("a_rather_long_folder_name_" * 4) / "sweep"
    runs = [
        record(m, s, nce=1.0 + 0.01 * s + 0.02 * (m == "lr"), order=i, **{"model.embedding_dim": 8})
        for i, (m, s) in enumerate((m, s) for m in ("lr", "dcn") for s in (1, 2, 3))
    ]
    write_runs(deep, runs)
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compare.py"), str(deep)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "…" not in out and str(deep / "report" / "report.html") in out
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("report: "))
    _, [c], _ = build_comparisons(runs)
    for table in (metrics_table(c), diff_table(c)):
        for row in table[1]:
            for number in re.findall(r"[-+]?\d+\.\d+", " ".join(row)):
                assert number in out, number


def test_every_case_names_cost_columns_that_exist() -> None:
    """A `cost/...` name outside the known columns matches nothing and its column silently vanishes (the
    blurring case asked for cost/p50_ms, which no run records: serving/p50_ms is the run's metric)."""
    from omegaconf import OmegaConf

    from framework.compare.columns import COSTS, OPTIONAL_COSTS

    for path in sorted((ROOT / "conf" / "case").glob("*.yaml")):
        costs = OmegaConf.select(OmegaConf.load(path), "case.report.costs") or []
        unknown = [c for c in costs if c.startswith("cost/") and c not in {**COSTS, **OPTIONAL_COSTS}]
        assert not unknown, f"{path.name}: {unknown}"
