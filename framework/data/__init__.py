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


def read_source(cfg: DictConfig, not_source_args: set[str], gives: type, what: str) -> tuple[Any, float]:
    """Call the dataset's source (`_target_`) with its own keys (every key but `not_source_args`, which the
    data module reads); (what it returned, seconds). A source that gives something else is a DataError."""
    import time

    from hydra.utils import get_method
    from omegaconf import OmegaConf

    from framework.errors import DataError

    source = get_method(str(cfg._target_))
    skip = {*not_source_args, "debug_rows"}  # a hint for debug=fast (its max_rows), not the source's
    args = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in skip}
    start = time.perf_counter()
    out = source(**args)
    if not isinstance(out, gives):
        raise DataError(f"dataset '{cfg.name}' does not give {what} ({type(out).__name__}).")
    return out, time.perf_counter() - start
