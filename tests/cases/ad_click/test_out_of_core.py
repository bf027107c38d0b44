"""Ad click on a Criteo file read out of core: chunks in, memory-mapped arrays out, the model trains on them."""

from __future__ import annotations

from pathlib import Path

from framework.data.formats.criteo import write_criteo
from framework.data.synthetic.click_log import generate
from tests.conftest import FAST, read_run, run_cli


def test_criteo_out_of_core_end_to_end(tmp_path: Path) -> None:
    path = write_criteo(generate(n_rows=2000, seed=5), tmp_path / "train.txt")
    args = (f"dataset.path={path}", "dataset.out_of_core=true", "dataset.chunk_rows=50", "dataset.batch_size=128")
    assert run_cli("case=ad_click", "dataset=criteo", *args, *FAST, f"hydra.run.dir={tmp_path}") == 0
    record = read_run(tmp_path)
    assert record["status"] == "finished"
    assert record["data"]["rows"] == {"train": 1600, "valid": 200, "test": 200}
    assert record["data"]["out_of_core"]["chunks"] == 40 and record["data"]["cache"] == "miss"
    assert 0.0 <= record["metrics"]["test/auroc"] <= 1.0
