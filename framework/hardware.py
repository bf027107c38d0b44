"""What the run's trainer config says about the hardware it trains on."""

from __future__ import annotations

from omegaconf import DictConfig

GPU_ACCELERATORS = ("gpu", "cuda")


def on_gpu(cfg: DictConfig) -> bool:
    """Whether the run trains on GPUs (`trainer.accelerator`)."""
    return str(cfg.trainer.accelerator) in GPU_ACCELERATORS
