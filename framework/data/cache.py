"""The on-disk cache of encoded datasets, shared by every data module.

An entry is a folder of `.npy` arrays plus `meta.json`, named `<dataset name>-<key>`. The key hashes the
dataset config (minus what does not change the data: batch sizes, the cache switch), the source file's
(or folder's files') size and modification time, the code that reads and encodes it, and whatever else
the data module says shapes the arrays (a seed that drives a split, a library version). A second run
with the same data config skips reading and encoding entirely. Entries are written to a temporary
folder and renamed into place: a killed run or two DDP ranks racing never leave a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from framework.signatures import module_file

# Keys that do not change the arrays: batch sizes, the cache switch, how a file is encoded (in memory or
# out of core, in chunks of how many rows: every way gives the same arrays), and the negative downsampling
# rate (training rows are drawn from the cached arrays after loading).
NOT_DATA_KEYS = ("batch_size", "eval_batch_size", "cache", "out_of_core", "chunk_rows", "negative_rate", "debug_rows")


def code_hash(modules: Iterable[str]) -> str:
    """A hash of the modules' source files (a module without a file hashes its name)."""
    digest = hashlib.sha256()
    for module in modules:
        path = module_file(module)
        digest.update(path.read_bytes() if path else module.encode())
    return digest.hexdigest()[:16]


def _source_stat(path_value: Any) -> Any:
    """Size and modification time of the source file, or of every file in the source folder."""
    if not path_value:
        return None
    path = Path(str(path_value)).expanduser()
    if path.is_file():
        stat = path.stat()
        return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
    if path.is_dir():
        return sorted([f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in path.iterdir() if f.is_file())
    return None  # missing: the reader raises the clear error


def cache_key(cfg: DictConfig, code_modules: Iterable[str], extra: dict[str, Any] | None = None) -> str:
    """16 hex digits from the data config, the source's stat, the code and `extra`."""
    content: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    for key in NOT_DATA_KEYS:
        content.pop(key, None)
    content["_source"] = _source_stat(content.get("path"))
    content["_code"] = code_hash([str(cfg._target_).rpartition(".")[0], *code_modules])
    content["_extra"] = extra or {}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def entry_path(cache_dir: str | Path, cfg: DictConfig, key: str) -> Path:
    return Path(cache_dir).expanduser() / f"{cfg.name}-{key}"


def is_stored(entry: Path) -> bool:
    return (entry / "meta.json").exists()


def store(entry: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write the arrays and meta.json atomically (a temporary folder renamed into place)."""

    def write(folder: Path) -> dict[str, Any]:
        for name, array in arrays.items():
            np.save(folder / f"{name}.npy", array)
        return meta

    store_from(entry, write)


def store_from(entry: Path, write: Callable[[Path], dict[str, Any]]) -> None:
    """`write(folder)` writes the arrays (any way, e.g. in chunks) into a temporary folder and returns the
    meta; then meta.json is written and the folder renamed into place. An entry another process stored
    first is kept; the temporary folder is removed in any case (also when `write` raises)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".{entry.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        meta = write(tmp)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        try:
            os.rename(tmp, entry)
        except OSError:
            if not is_stored(entry):  # not a lost race with another process: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(entry: Path, names: Iterable[str], mmap: bool = False) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The named arrays and the meta of a stored entry; `mmap`: memory-mapped (copy-on-write) rather than
    read, so only the pages a batch touches are read, and processes share them through the page cache."""
    meta = json.loads((entry / "meta.json").read_text())
    return {name: _load_array(entry / f"{name}.npy", mmap) for name in names}, meta


def _load_array(path: Path, mmap: bool) -> np.ndarray:
    if mmap:
        try:
            return np.load(path, mmap_mode="c")
        except ValueError:  # an array of zero bytes (e.g. no numeric field) cannot be mapped
            pass
    return np.load(path)


def load_or_build(
    cfg: DictConfig,
    cache_dir: str | Path,
    key: str,
    build: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]],
    names: Iterable[str] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any], Path, bool]:
    """A data module's arrays and meta: from the entry of `key` when stored (and `cfg.cache` is on), else
    `build()` (stored if `cfg.cache`). `names`: the arrays to load (None: the list `meta["arrays"]`).
    Returns (arrays, meta, entry, hit)."""
    entry = entry_path(cache_dir, cfg, key)
    if cfg.cache and is_stored(entry):
        meta = json.loads((entry / "meta.json").read_text())
        arrays, _ = load(entry, meta["arrays"] if names is None else names)
        return arrays, meta, entry, True
    arrays, meta = build()
    if cfg.cache:
        store(entry, arrays, meta)
    return arrays, meta, entry, False
