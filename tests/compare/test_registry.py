"""Reading run.json files, finding the varied config keys, grouping runs into choices."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from framework.compare.build import build_comparisons
from framework.compare.runs import (
    CompareError,
    choice_label,
    find_run_files,
    load_records,
    metric_directions,
    runs_frame,
    varied_axes,
)
from tests.compare.fakes import record, write_runs


def _models(nce: dict[str, list[float]]) -> list[dict]:
    """One run per model and seed (1, 2, 3, ...), in that order, with the given test/nce values."""
    runs, order = [], 0
    for model, values in nce.items():
        for seed, value in enumerate(values, start=1):
            runs.append(record(model, seed, nce=value, order=order))
            order += 1
    return runs


def test_a_model_sweep_varies_one_axis() -> None:
    # Choosing lr changes model._target_, drops model.embedding_dim, and its case_model sets another
    # optimizer lr: all follow from the model choice. Paths, tags, progress bars and seeds are not choices.
    runs = _models({"lr": [0.9, 0.8], "dcn": [0.7, 0.6]})
    axes = varied_axes(runs)
    assert axes.keys == ["choice:model"]
    assert [choice_label(r, axes) for r in runs] == ["model=lr", "model=lr", "model=dcn", "model=dcn"]


def test_a_config_key_sweep_is_labelled_by_its_short_name() -> None:
    runs = [record("dcn", s, order=i, **{"model.embedding_dim": d}) for i, (d, s) in enumerate([(8, 1), (32, 1)])]
    axes = varied_axes(runs)
    assert axes.keys == ["model.embedding_dim"]
    assert [choice_label(r, axes) for r in runs] == ["embedding_dim=8", "embedding_dim=32"]
    hashing = [record(order=i, **{"dataset.features.hash_buckets": b}) for i, b in enumerate([None, 1000])]
    assert [choice_label(r, varied_axes(hashing)) for r in hashing] == ["hash_buckets=null", "hash_buckets=1000"]


def test_two_independent_axes_and_nothing_varied() -> None:
    runs = [
        record("lr", 1, order=0, **{"dataset.max_rows": 1000}),
        record("lr", 1, order=1, **{"dataset.max_rows": 2000}),
        record("dcn", 1, order=2, **{"dataset.max_rows": 1000}),
    ]
    axes = varied_axes(runs)
    assert axes.keys == ["choice:model", "dataset.max_rows"]
    assert choice_label(runs[1], axes) == "model=lr, max_rows=2000"
    same = [record(seed=s, order=s) for s in (1, 2)]
    assert varied_axes(same).keys == [] and choice_label(same[0], varied_axes(same)) == "all runs"


def test_find_and_load_runs(tmp_path: Path) -> None:
    root = write_runs(tmp_path / "sweep", _models({"lr": [0.9, 0.8]}))
    (root / "2").mkdir()
    (root / "2" / "run.json").write_text(json.dumps({**record(), "status": "failed"}))
    (root / "3").mkdir()
    (root / "3" / "run.json").write_text("{not json")
    records, notes = load_records([root])
    assert [r["seed"] for r in records] == [1, 2]
    assert len(notes) == 2 and "status 'failed'" in notes[0] and "not readable JSON" in notes[1]
    assert find_run_files([root / "0" / "run.json"]) == [root / "0" / "run.json"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "no run.json found under"),
        (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "is not a run.json file"),
    ],
)
def test_bad_paths_are_clear_errors(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        load_records([make(tmp_path)])


def test_only_unfinished_runs_is_an_error(tmp_path: Path) -> None:
    write_runs(tmp_path, [{**record(), "status": "running"}])
    with pytest.raises(CompareError, match="no finished run"):
        load_records([tmp_path])


def test_frame_costs_and_duplicate_seeds() -> None:
    runs = _models({"lr": [0.9], "dcn": [0.7]})
    rerun = record("dcn", 1, nce=0.65, order=5)  # dcn seed 1 again, later: it replaces the first
    frame, axes = runs_frame([*runs, rerun])
    assert frame.height == 2 and axes["ad_click"].keys == ["choice:model"]
    dcn = frame.filter(frame["choice"] == "model=dcn").row(0, named=True)
    assert dcn["test/nce"] == 0.65 and dcn["cost/fit_s"] == 30.0 and dcn["cost/p99_ms"] == 5.0
    assert dcn["cost/parameters"] == 1000.0 and dcn["cost/samples_per_s"] == 1000.0
    _, _, notes = build_comparisons([*runs, rerun])
    assert notes == ["1 run(s) repeated a choice and seed already seen; the latest of each was kept"]


def test_metric_directions_come_from_the_eval_suite() -> None:
    assert metric_directions([record()]) == {"test/nce": False, "test/auroc": True, "test/calibration": None}


def test_a_wrapped_metric_has_the_direction_of_the_metric_it_wraps() -> None:
    run = record()
    on_task = "framework.metrics.feed.OnTask"
    run["config"]["eval"]["metrics"] = {
        "dwell_mae": {"_target_": on_task, "task": "dwell", "metric": {"_target_": "torchmetrics.MeanAbsoluteError"}},
        "click_auroc": {
            "_target_": on_task,
            "task": "click",
            "metric": {"_target_": "torchmetrics.classification.BinaryAUROC"},
        },
    }
    run["objective"] = {}
    assert metric_directions([run]) == {"test/dwell_mae": False, "test/click_auroc": True}


def test_comparison_means_stds_and_differences_by_hand() -> None:
    runs = _models({"lr": [1.0, 1.1, 1.2], "dcn": [0.9, 0.95, 1.15]})
    _, [c], _ = build_comparisons(runs)
    assert c.case == "ad_click" and c.axes == ["model"] and c.baseline == "model=lr"  # first run is the baseline
    assert c.metrics == ["test/nce", "test/auroc", "test/calibration"]  # monitored metric first
    lr, dcn = c.row("model=lr"), c.row("model=dcn")
    assert lr.values["test/nce"].mean == pytest.approx(1.1) and lr.values["test/nce"].std == pytest.approx(0.1)
    # dcn: mean 1.0, deviations -0.1, -0.05, 0.15 -> variance (0.01 + 0.0025 + 0.0225) / 2 = 0.0175
    assert dcn.values["test/nce"].mean == pytest.approx(1.0)
    assert dcn.values["test/nce"].std == pytest.approx(math.sqrt(0.0175))
    assert dcn.seeds == [1, 2, 3] and lr.diffs == {}
    d = dcn.diffs["test/nce"]  # differences -0.1, -0.15, -0.05 (see test_stats)
    assert (d.n, d.mean_diff, d.ci_low, d.ci_high) == pytest.approx((3, -0.1, -0.15, -0.05))
    assert dcn.diffs["test/auroc"].mean_diff == 0.0 and not dcn.diffs["test/auroc"].significant
    # lower nce and lower cost wins the front; dcn is better but costlier: both on it
    assert lr.pareto == dcn.pareto == {"cost/fit_s": True, "cost/p99_ms": True, "cost/parameters": True}
    slow_and_worse = _models({"lr": [0.9, 1.0], "dcn": [1.2, 1.3]})
    assert build_comparisons(slow_and_worse)[1][0].row("model=dcn").pareto["cost/fit_s"] is False


def test_baseline_and_headline_can_be_chosen() -> None:
    runs = _models({"lr": [1.0, 1.1], "dcn": [0.9, 0.95]})
    for spec in ("model=dcn", "dcn"):
        assert build_comparisons(runs, baseline=spec)[1][0].baseline == "model=dcn"
    _, [c], _ = build_comparisons(runs, metric="auroc")
    assert c.headline == "test/auroc"
    with pytest.raises(CompareError, match="matches no choice"):
        build_comparisons(runs, baseline="model=fm")
    with pytest.raises(CompareError, match="is not a metric of case ad_click"):
        build_comparisons(runs, metric="recall")
    dims = [record("dcn", s, order=i, **{"model.embedding_dim": d}) for i, (d, s) in enumerate([(8, 1), (16, 1)])]
    assert build_comparisons(dims, baseline="model.embedding_dim=16")[1][0].baseline == "embedding_dim=16"


def test_group_order_takes_the_task_kinds_config_groups() -> None:
    """The kinds' own nodes that are config groups (index, ranker) rank as axes; nodes that are not
    groups (retrieval, ranking) are not listed."""
    from framework.compare.runs import GROUP_ORDER
    from framework.config_dir import CONF_DIR
    from framework.tasks import kind_node_names

    groups = [n for n in kind_node_names() if (CONF_DIR / n).is_dir()]
    assert groups and GROUP_ORDER[-1 - len(groups) : -1] == tuple(groups)
    assert not set(kind_node_names()) - set(groups) & set(GROUP_ORDER)


def test_a_key_that_follows_the_seed_is_a_replicate_not_a_choice() -> None:
    # dataset.seed: ${seed} draws new data per seed: still two choices over two seeds, not four
    runs = [
        record(m, s, order=i, **{"dataset.seed": s})
        for i, (m, s) in enumerate([("lr", 1), ("lr", 2), ("dcn", 1), ("dcn", 2)])
    ]
    assert varied_axes(runs).keys == ["choice:model"]
    # a key that only sometimes equals the seed stays an axis
    mixed = [record("dcn", s, order=i, **{"model.embedding_dim": d}) for i, (s, d) in enumerate([(1, 1), (2, 32)])]
    assert varied_axes(mixed).keys == ["model.embedding_dim"]


def test_copy_detection_metrics_have_a_direction() -> None:
    # near_duplicate/encoder/recall@1: a recall (the suite's family); micro_ap: a known extra, higher is better
    report = ["test/near_duplicate/encoder/recall@1", "test/near_duplicate/micro_ap"]
    run = record(**{"case.report.metrics": report})
    run["config"]["eval"]["metrics"]["recall@10"] = {"_target_": "framework.metrics.topk.RecallAtK", "k": 10}
    run["metrics"].update(dict.fromkeys(report, 0.5))
    directions = metric_directions([run])
    assert directions["test/near_duplicate/encoder/recall@1"] is True
    assert directions["test/near_duplicate/micro_ap"] is True
