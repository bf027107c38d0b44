"""Data: format readers, synthetic generators, feature encoding and batching."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from framework.hardware import on_gpu


def prepared(module_class: type, cfg: DictConfig) -> Any:
    """The case's data module with its data read, checked and encoded (or loaded from the cache): what a
    recipe's `load_data` returns, called before any tracker starts so a bad data file stops the run with
    one message. Batches go to page-locked memory when they are copied to a GPU."""
    data = module_class(cfg.dataset, cfg.paths.cache_dir, cfg.seed, pin_memory=on_gpu(cfg))
    data.prepare()
    return data
