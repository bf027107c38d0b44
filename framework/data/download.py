"""Fetch an official dataset archive into a cache, check its checksums, unpack it safely.

Only for convenience on a machine that is online: the readers take a folder (`dataset.path`) and
never download anything. A fetched archive must match the md5 GroupLens publishes beside it and the
sha256 recorded here; a partial download is never left where a later run would trust it.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from framework.errors import DataError


@dataclass(frozen=True)
class Archive:
    url: str
    md5: str  # published by GroupLens (<url>.md5)
    sha256: str
    folder: str  # the folder the zip unpacks to
    files: tuple[str, ...]  # what a reader needs in it


ARCHIVES = {
    "100k": Archive(
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        md5="0e33842e24a9c977be4e0107933c0723",
        sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        folder="ml-100k",
        files=("u.data", "u.item", "u.user"),
    ),
    "1m": Archive(
        url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        md5="c4d9eecfca2ab87c1945afe126590906",
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        folder="ml-1m",
        files=("ratings.dat", "movies.dat", "users.dat"),
    ),
}


def _digests(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


def _download(url: str, target: Path, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        target.unlink(missing_ok=True)
        raise DataError(
            f"cannot download {url} ({getattr(exc, 'reason', exc)}). This machine may be offline: download the "
            f"archive elsewhere, unpack it, and set dataset.path to the unpacked folder."
        ) from exc


def _unpack(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        for member in z.namelist():  # no absolute paths or '..': a zip cannot write outside `into`
            resolved = (into / member).resolve()
            if not resolved.is_relative_to(into.resolve()):
                raise DataError(f"{archive}: member {member!r} would unpack outside {into}; refusing it.")
        z.extractall(into)


def fetch(name: str, cache_dir: str | Path, url: str | None = None, timeout: float = 60.0) -> Path:
    """The unpacked folder of archive `name` ("100k", "1m") under `cache_dir`, downloading it if needed.
    `url` overrides the official address (a mirror); the checksums are checked all the same."""
    if name not in ARCHIVES:
        raise DataError(f"unknown archive {name!r}; known: {', '.join(ARCHIVES)}.")
    spec = ARCHIVES[name]
    cache = Path(cache_dir).expanduser()
    folder = cache / spec.folder
    if all((folder / f).is_file() for f in spec.files) and (folder / ".verified").is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{spec.folder}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        archive = tmp / Path(spec.url).name
        _download(url or spec.url, archive, timeout)
        md5, sha = _digests(archive)
        if md5 != spec.md5 or sha != spec.sha256:
            raise DataError(
                f"{url or spec.url}: checksum mismatch (md5 {md5}, expected {spec.md5}; sha256 {sha}, expected "
                f"{spec.sha256}). The download is corrupt or not the official archive; nothing was kept."
            )
        _unpack(archive, tmp)
        unpacked = tmp / spec.folder
        missing = [f for f in spec.files if not (unpacked / f).is_file()]
        if missing:
            raise DataError(f"{archive.name} does not hold {spec.folder}/{', '.join(missing)}.")
        (unpacked / ".verified").write_text(f"md5 {md5}\nsha256 {sha}\n")
        shutil.rmtree(folder, ignore_errors=True)
        unpacked.rename(folder)  # in place only once complete and checked
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
