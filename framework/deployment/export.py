"""Export a finished run into a serving artefact (`framework.serving.artifact`): the model in each backend's
format (`framework.serving.graph`) plus everything a request needs.

    mlsd export run_dir=outputs/2026-12-04/09-00-00 backend=all      (or: python run.py export ...)
    mlsd export run_dir=outputs/... backend=onnx out=/srv/models/ctr-v3

ctr runs: the ranking model (probabilities, recalibration included) and the encoder (`encoder.json`).
two_stage runs: `framework.deployment.two_stage` (user and item vectors, the index, the ranker).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from framework.serving.artifact import (
    BACKENDS,
    ENCODER_FILE,
    MODEL_CONFIG,
    SPEC_FILE,
    default_artifact_dir,
    write_artifact,
)
from framework.serving.graph import EXAMPLE_ROWS, check_backends, save_backends, versions
from framework.serving.run_dir import TrainedRun, model_weights


def export_run(run_dir: str | Path, out: str | Path | None = None, backends: list[str] | None = None) -> Path:
    """Write the serving artefact of the run at `run_dir` to `out` (default <run_dir>/serving); returns it."""
    backends = list(backends or BACKENDS)
    check_backends(backends)
    run = TrainedRun(run_dir)
    out_dir = Path(out) if out else default_artifact_dir(run.run_dir)
    if run.kind == "two_stage":
        from framework.deployment.two_stage import export_two_stage

        return export_two_stage(run, out_dir, backends)
    return _export_ctr(run, out_dir, backends)


def _export_ctr(run: TrainedRun, out: Path, backends: list[str]) -> Path:
    import torch
    from omegaconf import OmegaConf

    from framework.serving.backends import build_model, scored_model

    state = run.state_dict()
    logit_shift = float(state.get("logit_shift", torch.zeros(())))  # CTRTask's recalibration buffer
    encoder = run.encoder_state()
    model = build_model(run.cfg.model, run.feature_spec)
    model.load_state_dict(model_weights(state))
    scored = scored_model(model, logit_shift)
    spec = run.feature_spec
    n_cat = sum(f["kind"] == "categorical" for f in spec["features"])
    example = (
        torch.zeros(EXAMPLE_ROWS, n_cat, dtype=torch.long),
        torch.zeros(EXAMPLE_ROWS, len(spec["features"]) - n_cat),
    )

    def write(folder: Path) -> dict[str, Any]:
        (folder / SPEC_FILE).write_text(json.dumps(spec, indent=1) + "\n")
        (folder / ENCODER_FILE).write_text(json.dumps(encoder) + "\n")
        OmegaConf.save(run.cfg.model, folder / MODEL_CONFIG)
        entries = save_backends(scored, example, folder, backends)
        return {
            "kind": str(run.cfg.case.task),
            "case": str(run.cfg.case.name),
            "latency_budget_ms": run.cfg.case.design.get("latency_budget_ms"),  # the card's, for servers and load tests
            "model": str(run.record.get("model")),
            "model_target": str(run.cfg.model._target_),
            "logit_shift": logit_shift,
            "inputs": {
                "categorical": ["int64", ["batch", n_cat]],
                "numeric": ["float32", ["batch", example[1].shape[1]]],
            },
            "output": "probability",  # float32 [batch]: sigmoid(logit + logit_shift)
            "backends": entries,
            "run": {
                "run_dir": str(run.run_dir.resolve()),
                "checkpoint": run.checkpoint.name,
                "git": run.record.get("git"),
                "metrics": {k: v for k, v in run.record.get("metrics", {}).items() if k.startswith("test/")},
            },
            "versions": versions(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    return write_artifact(out, write)
