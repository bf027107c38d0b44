"""Every ad click model runs end to end on tiny data and writes a complete run.json."""

from __future__ import annotations

import pytest

from tests.conftest import FAST, read_run, run_cli

MODELS = ["lr", "fm", "deepfm", "wide_deep", "dcn", "dcn_v2"]


@pytest.mark.parametrize("model", MODELS)
def test_each_model_runs(model: str, tmp_path) -> None:
    assert run_cli("case=ad_click", f"model={model}", *FAST, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["status"] == "finished"
    assert record["model"] == model
    for key in ("test/auroc", "test/log_loss", "test/nce", "test/pr_auc", "test/calibration", "test/ece", "val/nce"):
        assert 0.0 <= record["metrics"][key] < 10.0, key
    assert record["train_samples_per_s"] > 0
    assert set(record["timings"]) >= {"setup", "data", "fit", "test", "serving"}
    assert record["config"]["model"]["_target_"].startswith("framework.models.ranking.")
    assert record["versions"]["torch"] and record["git"].keys() == {"commit", "dirty"}
    assert record["serving"]["p99_ms"] > 0
