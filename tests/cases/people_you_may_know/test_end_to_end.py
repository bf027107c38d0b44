"""People you may know end to end: tiny runs, the run record, reproducibility, bad input, the real SNAP file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST, read_run, run_cli, shared_file

PYMK = ("case=people_you_may_know", *FAST)


def _quality(run_dir: Path) -> dict[str, float]:
    return {k: v for k, v in read_run(run_dir)["metrics"].items() if k.startswith(("val/", "test/"))}


def test_tiny_gnn_run_records_everything(tmp_path: Path) -> None:
    assert run_cli(*PYMK, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    m = record["metrics"]
    assert record["status"] == "finished" and record["objective"]["metric"] == "val/recall@10"
    assert record["objective"]["value"] == m["val/recall@10"]
    for key in ("test/recall@10", "test/map@10", "test/auc", "test/ap", "test/hits@50", "serving/p99_ms"):
        assert 0.0 <= m[key] < 1e4, key
    assert 0.0 < m["candidates/test/fof_recall"] < 1.0  # some new friends are not friends of friends
    assert m["candidates/test/fof_per_user"] < m["candidates/test/all_per_user"]
    assert record["trained"] and (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert record["serving"]["budget_ms"] == 100 and "top 10" in record["serving"]["request"]
    assert record["data"]["dropped"] == {"self_loops": 0, "duplicate_edges": 0}


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli(*PYMK, "seed=5", f"hydra.run.dir={tmp_path / name}") == 0
    assert _quality(tmp_path / "a") == _quality(tmp_path / "b")


@pytest.mark.parametrize(
    "override", ["candidates.strategy=all", "link_training.loss=listwise", "link_training.targets=latest"]
)
def test_design_choices_run(tmp_path: Path, override: str) -> None:
    assert run_cli(*PYMK, override, "link_training.hard_negatives=0.5", f"hydra.run.dir={tmp_path}") == 0
    assert read_run(tmp_path)["status"] == "finished"


def test_node2vec_settings_out_of_range_stop_the_run(tmp_path: Path, capsys) -> None:
    assert run_cli(*PYMK, "model=node2vec", "model.q=0", f"hydra.run.dir={tmp_path}") == 2
    assert "model.q out of range" in capsys.readouterr().err


def _edge_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "edges.txt"
    path.write_text(text)
    return str(path)


def test_a_malformed_edge_file_stops_before_training(tmp_path: Path, capsys) -> None:
    path = _edge_file(tmp_path, "0 1\n1 2\nnot-an-edge\n")
    code = run_cli(*PYMK, "dataset=snap", f"dataset.path={path}", f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 2
    assert "line 3" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_latest_targets_need_edge_times(tmp_path: Path, capsys) -> None:
    lines = "".join(f"{i} {j}\n" for i in range(12) for j in range(i + 1, 12) if (i + j) % 3)
    path = _edge_file(tmp_path, lines + "3 3\n0 1\n")
    args = ("dataset=snap", f"dataset.path={path}", "dataset.eval_negatives=5")
    assert run_cli(*PYMK, *args, "link_training.targets=latest", f"hydra.run.dir={tmp_path / 'a'}") == 2
    assert "has no edge times" in capsys.readouterr().err
    assert run_cli(*PYMK, *args, f"hydra.run.dir={tmp_path / 'b'}") == 0
    assert read_run(tmp_path / "b")["data"]["dropped"] == {"self_loops": 1, "duplicate_edges": 1}
    assert "dropped 1 self-loop(s) and 1 duplicate edge(s)" in capsys.readouterr().err


@pytest.mark.slow
def test_heuristics_on_the_facebook_graph(tmp_path: Path) -> None:
    """SNAP ego-Facebook, seeded 85/5/10 hold-out: resource allocation as measured in BENCHMARKS.md."""
    path = shared_file("snap-ego-facebook/facebook_combined.txt")
    args = ("case=people_you_may_know", "dataset=snap", f"dataset.path={path}", "logger=none")
    assert run_cli(*args, "model=resource_allocation", f"hydra.run.dir={tmp_path}") == 0
    m = read_run(tmp_path)["metrics"]
    assert m["test/auc"] > 0.99 and m["test/recall@10"] > 0.5
    assert m["candidates/test/fof_recall"] > 0.95  # ego networks: nearly every held-out friend is 2 hops away
