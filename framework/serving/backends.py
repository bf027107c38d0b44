"""One `Scorer` per backend, all with one method: `score(rows) -> scores` (float32 [N]): click probabilities
of a ctr model, logits of a two-stage ranker (the manifest's `output`).

- `torch`:  eager PyTorch; the model rebuilt from model.yaml + its state_dict (needs this package's code).
- `export`: a `torch.export` program (model.pt2): the graph and weights only, no model code; runs on torch.
- `onnx`:   the same graph as ONNX, run by ONNX Runtime (no torch needed to serve it).

Every backend computes sigmoid(model(categorical, numeric) + logit_shift): the downsampling recalibration
(`framework.data.tabular.downsampling`) is part of the scored graph, so no caller can forget it.

    >>> scorer = load_scorer(read_artifact("outputs/run/serving"), "onnx")
    >>> scorer.score(RowEncoder(artifact.encoder).encode(frame))      # np.ndarray float32 [len(frame)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from framework.errors import ConfigError
from framework.serving.artifact import BACKENDS, MODEL_CONFIG, Artifact
from framework.serving.encode import EncodedRows

if TYPE_CHECKING:
    import torch


class Scorer(Protocol):
    backend: str

    def score(self, rows: EncodedRows) -> np.ndarray: ...


def scored_model(model: torch.nn.Module, logit_shift: float = 0.0, probability: bool = True) -> torch.nn.Module:
    """`model(categorical, numeric) -> logits` wrapped as what is exported: calibrated probabilities
    sigmoid(logit + logit_shift), or (`probability=False`: a ranker whose listwise logits only order a
    list) the logits themselves."""
    import torch

    class Scored(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.probability = probability
            self.register_buffer("logit_shift", torch.tensor(float(logit_shift)))

        def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
            logits = self.model(categorical, numeric) + self.logit_shift
            return torch.sigmoid(logits) if self.probability else logits

    return Scored().eval()


def build_model(model_cfg: Any, feature_spec: dict[str, Any]) -> torch.nn.Module:
    """The ranking model of a config node (`_target_` + hyper-parameters) for a FeatureSpec dict."""
    from hydra.utils import instantiate

    from framework.data.tabular.features import FeatureSpec

    spec = FeatureSpec.from_dict(feature_spec)
    return instantiate(model_cfg, _partial_=True, _convert_="all")(feature_spec=spec)


class _TorchScorer:
    """Eager or torch.export: both are torch modules called under inference_mode."""

    def __init__(self, backend: str, module: torch.nn.Module) -> None:
        self.backend = backend
        self.module = module

    def score(self, rows: EncodedRows) -> np.ndarray:
        import torch

        if len(rows) == 0:
            return np.empty(0, np.float32)
        with torch.inference_mode():
            out = self.module(torch.from_numpy(rows.categorical), torch.from_numpy(rows.numeric))
        return out.numpy().astype(np.float32, copy=False)


class _OnnxScorer:
    backend = "onnx"

    def __init__(self, path: str, threads: int | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def score(self, rows: EncodedRows) -> np.ndarray:
        if len(rows) == 0:  # the graph's batch dimension starts at 1
            return np.empty(0, np.float32)
        feeds = {"categorical": rows.categorical, "numeric": rows.numeric}
        return self.session.run(None, feeds)[0].astype(np.float32, copy=False)


def load_scorer(artifact: Artifact, backend: str, threads: int | None = None) -> Scorer:
    """The artefact's model for `backend` (torch, export, onnx); `threads`: intra-op threads (torch's
    setting is process-wide; None keeps each library's default)."""
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown backend '{backend}'. Available backends: {', '.join(BACKENDS)}.")
    path = artifact.file(backend)
    if backend == "onnx":
        return _OnnxScorer(str(path), threads)
    import torch

    if threads:
        torch.set_num_threads(threads)
    if backend == "export":
        return _TorchScorer(backend, torch.export.load(str(path)).module())
    from omegaconf import OmegaConf

    model = build_model(OmegaConf.load(artifact.path / MODEL_CONFIG), artifact.feature_spec)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    probability = artifact.manifest.get("output") != "logit"  # a ctr model: calibrated probabilities
    return _TorchScorer(backend, scored_model(model, artifact.logit_shift, probability))
