"""The two-stage case end to end: tiny runs of the whole pipeline, the run record, the report, resume, quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import FAST, read_run, run_cli, shared_file

VIDEO = ("case=video_recommendation", *FAST)


def _metrics(run_dir: Path) -> dict[str, float]:
    return {k: v for k, v in read_run(run_dir)["metrics"].items() if not k.startswith("serving/")}


def test_tiny_two_stage_run(tmp_path: Path, capsys) -> None:
    assert run_cli(*VIDEO, f"hydra.run.dir={tmp_path}") == 0
    out = capsys.readouterr().out
    assert "two-stage report" in out and "end to end" in out
    record = read_run(tmp_path)
    m = record["metrics"]
    assert record["status"] == "finished" and record["objective"]["metric"] == "val/ndcg@10"
    assert record["objective"]["value"] == m["val/ndcg@10"]
    keys = [
        "retrieval/val/ndcg@20",
        "retrieval/test/recall@20",
        "retrieval/test/coverage@20",
        "index/recall@100",
        "candidates/test/recall@100",
        "candidates/test/ndcg@10",
        "test/ndcg@10",
        "test/map@10",
        "test/diversity@10",
        "serving/stage1_p99_ms",
        "serving/stage2_p99_ms",
        "serving/p99_ms",
    ]
    for key in keys:
        assert key in m, key
        assert 0.0 <= m[key] < 1e4, key
    assert m["index/recall@100"] == 1.0  # the exact index
    assert record["serving"]["budget_ms"] == 200 and record["serving"]["candidates_per_request"] == 100
    assert (tmp_path / "checkpoints" / "retrieval" / "last.ckpt").exists()
    assert (tmp_path / "checkpoints" / "ranking" / "last.ckpt").exists()
    assert set(record["stages"]) == {"retrieval", "ranking"}
    assert {"fit_retrieval", "test_retrieval", "index", "candidates", "fit_ranking", "serving"} <= set(
        record["timings"]
    )


@pytest.mark.parametrize("loss", ["pointwise", "pairwise"])
def test_every_ranking_loss_trains_the_ranker(tmp_path: Path, loss: str) -> None:
    """The default (listwise) runs in test_tiny_two_stage_run; the other losses train the same lists."""
    assert run_cli(*VIDEO, f"ranking.loss={loss}", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["config"]["ranking"]["loss"] == loss
    assert record["ranking_data"]["train_rows"] > record["ranking_data"]["train_users"] > 0
    history = record["stages"]["ranking"]["history"]
    assert history and all(np.isfinite(row["val/ndcg@10"]) for row in history)


def test_retrieval_only_with_mf_and_hnsw(tmp_path: Path) -> None:
    assert run_cli(*VIDEO, "model=mf", "ranker=none", "index=hnsw", f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    m = record["metrics"]
    assert "serving/stage2_p99_ms" not in m and "stage2" not in record["serving"]
    assert 0.0 < m["index/recall@100"] <= 1.0 and record["index"]["index"] == "faiss_hnsw"
    # without a ranker the final lists are the candidates in stage 1's order
    assert m["test/ndcg@10"] == m["candidates/test/ndcg@10"]
    assert record["config"]["retrieval"]["loss"] == "bpr"


def test_bad_movielens_folder_stops_before_training(tmp_path: Path, capsys) -> None:
    code = run_cli(
        *VIDEO, "dataset=movielens_100k", f"dataset.path={tmp_path / 'none'}", f"hydra.run.dir={tmp_path / 'r'}"
    )
    assert code == 2
    assert "data error: MovieLens 100K folder not found" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "r" / "checkpoints").exists()


@pytest.mark.slow
def test_same_seed_same_metrics_and_resume(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run_cli(*VIDEO, "seed=5", f"hydra.run.dir={tmp_path / name}") == 0
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    assert read_run(tmp_path / "b")["data"]["cache"] == "hit"
    # a finished run resumed from its stages' last checkpoints trains nothing more: same metrics
    assert run_cli(*VIDEO, "seed=5", f"hydra.run.dir={tmp_path / 'a'}", "resume=true") == 0
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")


def _popularity_recall(run_dir: Path, k: int) -> float:
    """Recall@k of recommending the most popular unseen training items: the baseline a model must beat."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from framework.config_dir import CONF_DIR
    from framework.data.interactions.datamodule import InteractionDataModule
    from framework.metrics.topk import RecallAtK, rank_top_k

    record = read_run(run_dir)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "run", overrides=[f"{k_}={v}" for k_, v in record["choices"].items() if k_ in ("case", "dataset")]
        )
    cfg.dataset.merge_with(record["config"]["dataset"])
    data = InteractionDataModule(cfg.dataset, record["data"]["cache_entry"].rsplit("/", 1)[0], record["seed"])
    data.prepare()
    users = data.eval_users("test")
    scores = data.item_counts.float()[None, :].expand(len(users), -1)
    lists = rank_top_k(scores, data.history("test").dense(users), data.sets["test"].dense(users), k, None)
    metric = RecallAtK(k)
    metric.update(lists)
    return float(metric.compute())


@pytest.mark.slow
def test_two_tower_learns_the_planted_tastes(tmp_path: Path) -> None:
    args = ("case=video_recommendation", "logger=none", "trainer.enable_progress_bar=false", "ranker=none")
    assert run_cli(*args, "dataset.n_users=1000", "trainer.max_epochs=3", f"hydra.run.dir={tmp_path}") == 0
    m = read_run(tmp_path)["metrics"]
    assert m["retrieval/test/recall@20"] > 1.5 * _popularity_recall(tmp_path, 20)


@pytest.mark.slow
def test_movielens_100k_two_stage_on_the_real_files(tmp_path: Path, capsys) -> None:
    folder = shared_file("movielens-100k/u.data").parent
    args = (
        "case=video_recommendation",
        "dataset=movielens_100k",
        f"dataset.path={folder}",
        "logger=none",
        "trainer.enable_progress_bar=false",
        "trainer.max_epochs=5",
        "ranking.max_epochs=2",
    )
    assert run_cli(*args, f"hydra.run.dir={tmp_path}") == 0
    assert "two-stage report" in capsys.readouterr().out
    record = read_run(tmp_path)
    m = record["metrics"]
    assert record["data"]["users"] == 943 and record["data"]["items"] == 1682
    assert record["data"]["rows"] == {"train": 80808, "valid": 9596, "test": 9596}  # 8:1:1 per user, RecBole's rounding
    # Five epochs of the two-tower model already land near RecBole's BPR after 85 (0.361 / 0.308, BENCHMARKS.md);
    # recommending the most popular unseen items reaches 0.170 / 0.146.
    assert m["retrieval/test/recall@20"] > 0.33 and m["retrieval/test/ndcg@20"] > 0.28
    assert m["retrieval/test/recall@20"] > 1.8 * _popularity_recall(tmp_path, 20)
    assert m["candidates/test/recall@100"] > 0.6 and m["test/ndcg@10"] > 0.2
    # The ranker, which sees the candidates' co-occurrence with each user's history, re-orders them
    # better than stage 1 (over 5 seeds in BENCHMARKS.md; here one fixed seed).
    assert m["test/ndcg@10"] > m["candidates/test/ndcg@10"]
    assert np.isfinite(m["serving/p99_ms"]) and torch.get_num_threads() >= 1
