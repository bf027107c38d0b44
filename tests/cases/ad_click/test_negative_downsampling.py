"""Negative downsampling end to end: a model trained on a quarter of the negatives is recalibrated, so its
test calibration is ~1; the same model's raw probabilities over-predict clicks ~3-fold."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from framework.data.tabular.datamodule import TabularDataModule
from framework.data.tabular.features import FeatureSpec
from framework.tasks.ctr.module import CTRTask
from tests.conftest import FAST, read_run, run_cli

RATE = 0.25


@pytest.mark.parametrize("rate", ["0", "1.5", "-0.1"])
def test_a_negative_rate_outside_zero_one_is_a_config_error(rate: str, tmp_path: Path, capsys) -> None:
    code = run_cli(f"dataset.negative_rate={rate}", *FAST, f"hydra.run.dir={tmp_path}")
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert "'dataset.negative_rate' must be in (0, 1] (the fraction of negative training rows kept" in err
    assert f"got {rate}." in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_recalibration_makes_the_downsampled_model_calibrated(tmp_path: Path) -> None:
    args = ("model=lr", "seed=1", "dataset.n_rows=100000", "dataset.batch_size=512", "trainer.max_epochs=3")
    quiet = ("logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp_path}")
    assert run_cli(*args, f"dataset.negative_rate={RATE}", *quiet) == 0
    record = read_run(tmp_path)
    sample = record["data"]["downsampling"]
    assert sample["negative_rate"] == RATE and sample["positives"] + sample["negatives"] == sample["rows"] == 80_000
    assert sample["negatives_kept"] == pytest.approx(RATE * sample["negatives"], rel=0.05)
    assert sample["ctr_kept"] > 2.5 * sample["ctr"]  # ~0.36 vs ~0.12

    # The trained model, from its best checkpoint, scored on the untouched test rows with and without the shift.
    cfg = OmegaConf.create(record["config"])
    data = TabularDataModule(cfg.dataset, cfg.paths.cache_dir, cfg.seed)
    data.prepare()
    model = instantiate(cfg.model, _partial_=True)(feature_spec=FeatureSpec.from_dict(record["feature_spec"]))
    task = CTRTask(model, {}, optimizer=torch.optim.SGD)
    task.load_state_dict(torch.load(record["checkpoints"]["best"], weights_only=False)["state_dict"])
    task.eval()
    assert task.logit_shift.item() == pytest.approx(sample["logit_shift"])  # carried by the checkpoint
    test = data.tables["test"][slice(0, len(data.tables["test"]))]
    with torch.no_grad():
        raw = torch.sigmoid(task(test)).sum().item() / test["label"].sum().item()
        calibrated = task.predict_step(test, 0).sum().item() / test["label"].sum().item()

    assert calibrated == pytest.approx(record["metrics"]["test/calibration"], rel=1e-3)  # what the run reported
    assert 0.8 < calibrated < 1.25, (calibrated, raw)
    assert raw > 2.2, (calibrated, raw)  # the sample's click rate: ~3x the data's
