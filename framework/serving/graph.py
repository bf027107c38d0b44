"""Write a scored model (`framework.serving.backends.scored_model`) in each backend's format.

Why torch.export and not TorchScript: `torch.jit.trace`/`script` are deprecated in torch 2.13 (they warn
and receive no fixes); `torch.export` captures the same graph for every ctr model here (DCN's hand-written
autograd.Function included: only its forward is traced), with a symbolic batch dimension checked at export
time, and it is the graph the ONNX exporter (dynamo=True) starts from as well.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from framework.errors import ConfigError
from framework.serving.artifact import BACKEND_FILES, BACKENDS

EXAMPLE_ROWS = 8  # rows of the example batch export traces with (>1: a batch of 1 would be specialised on)


def check_backends(backends: list[str]) -> None:
    for b in backends:
        if b not in BACKENDS:
            raise ConfigError(f"Unknown backend '{b}'. Available backends: {', '.join(BACKENDS)} (or all).")


def save_backends(module: Any, example: tuple, folder: Path, backends: list[str]) -> dict[str, dict[str, Any]]:
    """Write `module` (a `scored_model`) for each backend into `folder`; the manifest's `backends` entries."""
    entries: dict[str, dict[str, Any]] = {}
    for backend in backends:
        start = time.perf_counter()
        file = folder / BACKEND_FILES[backend]
        _EXPORTERS[backend](module, example, file)
        entries[backend] = {"file": file.name, "export_seconds": round(time.perf_counter() - start, 3)}
    return entries


def _export_torch(module: Any, example: tuple, file: Path) -> None:
    import torch

    torch.save(module.model.state_dict(), file)  # the eager backend rebuilds the wrapper from the manifest


def _export_program(module: Any, example: tuple, file: Path) -> None:
    import torch

    torch.export.save(torch.export.export(module, example, dynamic_shapes=_dynamic_batch()), str(file))


def _export_onnx(module: Any, example: tuple, file: Path) -> None:
    import logging
    import warnings

    import torch

    # The exporter's notes on its own internals (no torchvision to register ops for) are not the user's concern.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            str(file),
            input_names=["categorical", "numeric"],
            output_names=["probability"],
            dynamic_shapes=_dynamic_batch(),
            dynamo=True,
            external_data=False,  # one self-contained file (models here are far below protobuf's 2 GB)
            verbose=False,
        )


def _dynamic_batch() -> tuple[dict[int, Any], dict[int, Any]]:
    import torch

    batch = torch.export.Dim("batch", min=1, max=1 << 24)
    return {0: batch}, {0: batch}


_EXPORTERS = {"torch": _export_torch, "export": _export_program, "onnx": _export_onnx}


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in ("torch", "onnx", "onnxruntime", "polars", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
