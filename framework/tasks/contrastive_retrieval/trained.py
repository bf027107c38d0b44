"""A finished contrastive retrieval run, reloaded: its config, its data (from the cache) and its encoder with
the best checkpoint's weights (an encoder without training is fitted again: deterministic). For the bench
scripts (index curves, channel peers) that measure a trained encoder without training it again."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from framework.data.retrieval.datamodule import RetrievalDataModule
from framework.tasks.contrastive_retrieval.recipe import build_model, load_data


def load_trained(run_dir: str | Path) -> tuple[DictConfig, RetrievalDataModule, torch.nn.Module]:
    run = Path(run_dir).expanduser()
    cfg = OmegaConf.load(run / "config_resolved.yaml")
    data = load_data(cfg)
    model = build_model(cfg, data.spec)
    if getattr(model, "trainable", True):
        found = sorted((run / "checkpoints").glob("best-*.ckpt"))
        if not found:
            raise FileNotFoundError(f"{run}: no checkpoints/best-*.ckpt: not a finished training run")
        state = torch.load(found[-1], map_location="cpu", weights_only=True)["state_dict"]
        model.load_state_dict({k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")})
    else:
        from framework.tasks.contrastive_retrieval.images import as_float

        model.fit(as_float(data.array("train", "images")))
    return cfg, data, model.eval()
