"""The serving artefact: a folder holding a trained model in each backend's format plus everything a request
needs, so that a server or a batch job reads this folder and nothing of the run, the dataset or the cache.

    <artefact>/
      manifest.json      format version, kind, case, model, logit_shift, the files per backend with sha256,
                         library versions, the run it came from
      feature_spec.json  the FeatureSpec the model was built for (names, kinds, cardinalities)
      encoder.json       TabularEncoder.state(): raw columns + dtypes, vocabularies, hash buckets, numeric stats
      model.yaml         the model's config (_target_ + hyper-parameters): the eager backend rebuilds it
      model.pt           eager torch: the model's state_dict
      model.pt2          torch.export program: sigmoid(model + logit_shift), dynamic batch size
      model.onnx         the same program for ONNX Runtime

Written into a temporary folder and renamed into place: a reader sees a whole artefact or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framework.data.tabular.features import ENCODER_FILE  # the same name in a run dir and a cache entry
from framework.errors import DataError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SPEC_FILE = "feature_spec.json"
MODEL_CONFIG = "model.yaml"
BACKEND_FILES = {"torch": "model.pt", "export": "model.pt2", "onnx": "model.onnx"}
BACKENDS = tuple(BACKEND_FILES)


class ArtifactError(DataError):
    title = "artifact error"


@dataclass(frozen=True)
class Artifact:
    """A read artefact folder: its manifest, the encoder state and the feature spec (plain dicts)."""

    path: Path
    manifest: dict[str, Any]
    encoder: dict[str, Any]
    feature_spec: dict[str, Any]

    @property
    def backends(self) -> list[str]:
        return list(self.manifest["backends"])

    @property
    def logit_shift(self) -> float:
        return float(self.manifest["logit_shift"])

    def file(self, backend: str) -> Path:
        if backend not in self.manifest["backends"]:
            raise ArtifactError(
                f"{self.path}: no '{backend}' model in this artefact (it has: {', '.join(self.backends)}). "
                f"Export the run again with it: mlsd export run_dir=<run> backend=all (or a list with {backend})"
            )
        return self.path / self.manifest["backends"][backend]["file"]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_artifact(out: Path, write: Callable[[Path], dict[str, Any]]) -> Path:
    """`write(folder)` writes the files into a temporary folder beside `out` and returns the manifest
    (without the checksums, added here); then the folder replaces `out` (an older artefact is removed; a
    folder that is not an artefact is never replaced)."""
    out = Path(out)
    if out.exists() and not (out / MANIFEST).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise ArtifactError(f"{out} exists and is not a serving artefact: not replacing it. Choose another out=...")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        manifest = write(tmp)
        for entry in manifest["backends"].values():
            entry["sha256"] = sha256(tmp / entry["file"])
        manifest["format_version"] = FORMAT_VERSION
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():  # replace: move the old one aside first, so the rename below cannot fail half way
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def read_artifact(path: str | Path, verify: bool = True) -> Artifact:
    """Read an artefact folder; `verify`: check each model file's sha256 against the manifest."""
    path = Path(path).expanduser()
    if not (path / MANIFEST).is_file():
        raise ArtifactError(f"{path}: not a serving artefact (no {MANIFEST}). Make one: mlsd export run_dir=<run>")
    manifest = json.loads((path / MANIFEST).read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: artefact format {manifest.get('format_version')!r}, this code reads {FORMAT_VERSION}: "
            "export the run again."
        )
    if verify:
        for backend, entry in manifest["backends"].items():
            file = path / entry["file"]
            if not file.is_file() or sha256(file) != entry["sha256"]:
                raise ArtifactError(f"{file}: missing or changed since export (the {backend} model's checksum).")
    encoder = json.loads((path / ENCODER_FILE).read_text())
    spec = json.loads((path / SPEC_FILE).read_text())
    return Artifact(path, manifest, encoder, spec)


def default_artifact_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "serving"
