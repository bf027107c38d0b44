"""The interaction data module: cached arrays, histories per split, evaluation users; the download helper."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from framework.data import download
from framework.data.interactions.datamodule import InteractionDataModule
from framework.errors import DataError


def dataset_cfg(**extra):
    base = {
        "_target_": "framework.data.synthetic.watch_log.generate",
        "name": "watch_log_synthetic",
        "n_users": 300,
        "n_items": 200,
        "interactions_per_user": 20,
        "seed": 1,
        "max_rows": None,
        "positive_threshold": 0.5,
        "split_strategy": "random",
        "split": [0.8, 0.1, 0.1],
        "batch_size": 64,
        "eval_batch_size": 64,
        "cache": True,
    }
    return OmegaConf.create({**base, **extra})


def test_second_prepare_hits_the_cache_with_the_same_arrays(tmp_path: Path) -> None:
    first = InteractionDataModule(dataset_cfg(), tmp_path, seed=3)
    spec = first.prepare()
    second = InteractionDataModule(dataset_cfg(batch_size=128), tmp_path, seed=3)  # batch size: same entry
    assert second.prepare() == spec
    assert first.info["cache"] == "miss" and second.info["cache"] == "hit"
    for split in ("train", "valid", "test"):
        assert all(torch.equal(a, b) for a, b in zip(first.pairs[split], second.pairs[split], strict=True))
    other = InteractionDataModule(dataset_cfg(), tmp_path, seed=4)  # the seed drives the split: another entry
    other.prepare()
    assert other.info["cache"] == "miss"


def test_histories_exclude_earlier_splits_only(tmp_path: Path) -> None:
    data = InteractionDataModule(dataset_cfg(cache=False), tmp_path, seed=0)
    data.prepare()
    users = data.eval_users("test")
    test_mask = data.sets["test"].dense(users)
    assert not (data.history("test").dense(users) & test_mask).any()  # a test item is never in its history
    assert (
        data.history("test").dense(users).sum(1) == data.sets["train"].counts(users) + data.sets["valid"].counts(users)
    ).all()
    assert (data.sets["test"].counts(users) > 0).all()
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"user", "item", "label"} and len(batch["user"]) == 64


def _zip(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "ml-tiny.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _register(monkeypatch, archive: Path, md5: str | None = None) -> None:
    data = archive.read_bytes()
    spec = download.Archive(
        url=archive.as_uri(),
        md5=md5 or hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        folder="ml-tiny",
        files=("u.data",),
    )
    monkeypatch.setitem(download.ARCHIVES, "tiny", spec)


def test_fetch_checks_unpacks_and_reuses(tmp_path: Path, monkeypatch) -> None:
    archive = _zip(tmp_path, {"ml-tiny/u.data": b"1\t1\t5\t1\n"})
    _register(monkeypatch, archive)
    folder = download.fetch("tiny", tmp_path / "cache")
    assert (folder / "u.data").read_bytes() == b"1\t1\t5\t1\n" and (folder / ".verified").exists()
    archive.unlink()  # a second call does not download again
    assert download.fetch("tiny", tmp_path / "cache") == folder


def test_fetch_refuses_a_wrong_checksum_and_keeps_nothing(tmp_path: Path, monkeypatch) -> None:
    _register(monkeypatch, _zip(tmp_path, {"ml-tiny/u.data": b"x"}), md5="0" * 32)
    with pytest.raises(DataError, match="checksum mismatch"):
        download.fetch("tiny", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_refuses_paths_outside_the_cache(tmp_path: Path, monkeypatch) -> None:
    _register(monkeypatch, _zip(tmp_path, {"../evil.txt": b"x", "ml-tiny/u.data": b"x"}))
    with pytest.raises(DataError, match="would unpack outside"):
        download.fetch("tiny", tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists()


def test_fetch_offline_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot download .* set dataset.path to the unpacked folder"):
        download.fetch("100k", tmp_path / "cache", url="http://127.0.0.1:9/ml-100k.zip", timeout=5)
