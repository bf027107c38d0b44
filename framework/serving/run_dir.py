"""A finished run directory, read for export: run.json, config_resolved.yaml, the best checkpoint(s) and the
encoder state; anything missing is an ArtifactError that says what to do."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from framework.serving.artifact import ENCODER_FILE, ArtifactError

SUPPORTED_KINDS = ("ctr", "two_stage")


class TrainedRun:
    """A finished run's record, config, best checkpoint and encoder state, checked for export."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir).expanduser()
        if not (self.run_dir / "run.json").is_file():
            raise ArtifactError(f"{self.run_dir}: no run.json, not a run directory (run_dir=<the run's output dir>).")
        self.record: dict[str, Any] = json.loads((self.run_dir / "run.json").read_text())
        from omegaconf import OmegaConf

        config = self.run_dir / "config_resolved.yaml"
        if not config.is_file():
            raise ArtifactError(f"{self.run_dir}: no config_resolved.yaml; the run did not get far enough to export.")
        self.cfg = OmegaConf.load(config)
        kind = str(self.cfg.case.task)
        if kind not in SUPPORTED_KINDS:
            raise ArtifactError(
                f"{self.run_dir}: a {kind} run (case {self.cfg.case.name}); "
                f"export supports {', '.join(SUPPORTED_KINDS)} runs so far."
            )
        self.kind = kind
        self.checkpoint = self.best_checkpoint("retrieval" if kind == "two_stage" else None)
        self.feature_spec: dict[str, Any] = self.record["feature_spec"]

    def best_checkpoint(self, stage: str | None = None) -> Path:
        """The best checkpoint of the run (of `stage`, for a run with stages: checkpoints/<stage>/)."""
        recorded = (self.record.get("checkpoints") or {}).get(f"{stage}_best" if stage else "best")
        if recorded and Path(recorded).is_file():
            return Path(recorded)
        folder = self.run_dir / "checkpoints" / (stage or "")
        found = sorted(folder.glob("best-*.ckpt"))  # a run dir moved since it ran
        if not found:
            where = f"checkpoints/{stage}/best-*.ckpt" if stage else "checkpoints/best-*.ckpt"
            raise ArtifactError(
                f"{self.run_dir}: no best checkpoint ({where}); run status "
                f"'{self.record.get('status')}'. Export a run that finished training."
            )
        return found[-1]

    def state_dict(self, stage: str | None = None) -> dict[str, Any]:
        """The best checkpoint's LightningModule state (the model's weights under `model.`)."""
        import torch

        return torch.load(self.best_checkpoint(stage), map_location="cpu", weights_only=True)["state_dict"]

    def encoder_state(self) -> dict[str, Any]:
        """encoder.json of the run; a run made before runs saved it: the encoder fit again on the same data
        (the fit is deterministic; the FeatureSpec and the click rate of each split must equal the run's)."""
        path = self.run_dir / ENCODER_FILE
        if path.is_file():
            return json.loads(path.read_text())
        from framework.data import prepared
        from framework.data.tabular.datamodule import TabularDataModule

        print(
            f"{self.run_dir}: no {ENCODER_FILE} (an older run): fitting the encoder again on its data", file=sys.stderr
        )
        try:
            data = prepared(TabularDataModule, self.cfg)
        except Exception as exc:  # the data source changed since the run (a file moved, a generator's arguments)
            raise ArtifactError(
                f"{self.run_dir}: cannot read the run's data again to rebuild its encoder ({exc})."
            ) from exc
        recorded = self.record.get("data") or {}
        same = data.spec.to_dict() == self.feature_spec and data.info.get("ctr") == recorded.get("ctr")
        if data.encoder_state is None or not same:  # the same features and click rates per split: the same rows
            raise ArtifactError(
                f"{self.run_dir}: the data no longer gives the run's features; cannot rebuild its encoder."
            )
        return data.encoder_state


def model_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The `model.*` entries of a task's state, without the prefix."""
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
