"""Every debug preset (conf/debug/*.yaml) runs on every case, on small data; overfitting a few batches
does drive the loss down."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from framework.config_dir import CONF_DIR
from tests.conftest import read_run, run_cli

DEBUG = sorted(p.stem for p in (CONF_DIR / "debug").glob("*.yaml"))
CASES = sorted(p.stem for p in (CONF_DIR / "case").glob("*.yaml"))
SMALL = (
    "dataset.max_rows=${oc.select:dataset.debug_rows,4000}",  # images: fewer rows (dataset.debug_rows)
    "trainer.max_epochs=3",
    "logger=none",
    "trainer.enable_progress_bar=false",
)


def test_the_documented_debug_presets_exist() -> None:
    assert {"fast", "overfit", "profile"} <= set(DEBUG)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("preset", DEBUG)
def test_debug_preset_runs(preset: str, case: str, tmp_path: Path) -> None:
    extra = ("trainer.limit_train_batches=3",) if preset == "profile" else ()
    assert run_cli(f"case={case}", f"debug={preset}", *SMALL, *extra, f"hydra.run.dir={tmp_path}") == 0
    assert read_run(tmp_path)["status"] == "finished"


def test_overfitting_a_few_batches_drives_the_training_loss_down(tmp_path: Path) -> None:
    args = ("debug=overfit", "trainer.max_epochs=20", "early_stopping=null", "model.dropout=0.0", "logger=csv")
    assert run_cli(*args, "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp_path}") == 0
    metrics_csv = Path(read_run(tmp_path)["tracking"]["csv_dir"]) / "metrics.csv"
    rows = list(csv.DictReader(metrics_csv.read_text().splitlines()))
    losses = [float(r["train/loss_epoch"]) for r in rows if r.get("train/loss_epoch")]
    assert len(losses) == 20 and losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize(("case", "rows"), [("ad_click", 4000), ("street_view_blurring", 200)])
def test_debug_fast_caps_rows_where_the_dataset_asks_for_fewer(case: str, rows: int) -> None:
    """debug=fast keeps 4000 rows, or the dataset's debug_rows (images: 4000 would cost a minute to make)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=[f"case={case}", "debug=fast"])
    assert cfg.dataset.max_rows == rows
