"""Tiny ad click runs to export, and what the trained run itself says about its test split: the raw rows,
the training encoder's arrays for them, and the probabilities of the trained CTRTask's own `predict_step`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch
from hydra.utils import get_method, instantiate
from omegaconf import OmegaConf

from framework.data import prepared
from framework.data.tabular.datamodule import _NOT_SOURCE_ARGS, TabularDataModule
from framework.data.tabular.features import FeatureSpec
from framework.data.tabular.table import RawTable, split_sizes
from framework.tasks.ctr.module import CTRTask
from tests.conftest import FAST, run_cli

# Tolerances on probabilities (values in [0, 1]; float32 carries ~7 significant digits). Eager torch and
# the torch.export program run the same ATen kernels on the same inputs: their results were bitwise equal
# for every model; 1e-6 only absorbs a kernel choosing another blocking for another batch size. ONNX
# Runtime has its own kernels and fuses ops (GEMM + bias, the MLP's adds), so the summation order differs:
# float32 rounding of the logit moves a probability by at most sigmoid' <= 0.25 times it. Largest
# difference seen: 9e-8 on these tiny runs, 1.5e-7 for a DCN trained on 800k rows (scripts/bench_serving.py);
# 1e-5 leaves ~60x margin and is still far below what a lost recalibration shift (log 0.5: ~0.05 here)
# would make. A wrong id is caught exactly, by the encoding comparisons.
ATOL = {"torch": 1e-6, "export": 1e-6, "onnx": 1e-5}


def train(run_dir: Path, model: str, *overrides: str) -> Path:
    """A debug=fast ad click run of `model` in `run_dir` (a few batches of 3,200 synthetic train rows)."""
    assert run_cli("case=ad_click", f"model={model}", *FAST, *overrides, f"hydra.run.dir={run_dir}") == 0
    return run_dir


@dataclass
class RunRows:
    raw: pl.DataFrame  # the test rows as the source gave them (label included)
    categorical: np.ndarray  # the training encoder's arrays for them (from the run's data cache)
    numeric: np.ndarray
    label: np.ndarray
    reference: np.ndarray  # the trained CTRTask's predict_step probabilities (recalibrated)


def run_rows(run_dir: Path) -> RunRows:
    cfg = OmegaConf.load(run_dir / "config_resolved.yaml")
    data = prepared(TabularDataModule, cfg)
    test = data.tables["test"].tensors
    source = get_method(str(cfg.dataset._target_))
    args = {k: v for k, v in OmegaConf.to_container(cfg.dataset, resolve=True).items() if k not in _NOT_SOURCE_ARGS}
    table: RawTable = source(**args)
    n_train, n_valid, n_test = split_sizes(table.frame.height, list(cfg.dataset.split))
    raw = table.frame.slice(n_train + n_valid, n_test)

    spec = FeatureSpec.from_dict(data.spec.to_dict())
    model = instantiate(cfg.model, _partial_=True, _convert_="all")(feature_spec=spec)
    task = CTRTask(model, {}, optimizer=torch.optim.SGD)  # the trained task, as its checkpoint restores it
    checkpoint = torch.load(next((run_dir / "checkpoints").glob("best-*.ckpt")), map_location="cpu", weights_only=True)
    task.load_state_dict(checkpoint["state_dict"])
    task.eval()
    with torch.inference_mode():
        reference = task.predict_step(test, 0).numpy()
    return RunRows(raw, test["categorical"].numpy(), test["numeric"].numpy(), test["label"].numpy(), reference)


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
