"""MSR-VTT caption CSVs as distributed with CLIP4Clip (-> RetrievalCorpus of videos with captions).

The caption file has a header and one row per caption, `key,vid_key,video_id,sentence`:

    key,vid_key,video_id,sentence
    ret0,msr9770,video9770,a person is connecting something to system

(`MSRVTT_JSFUSION_test.csv`: the 1k-A test split, one caption per video); a file with only
`video_id,sentence` is read too, and a video may have several rows (all become its "caption" texts, in file
order). Sentences with commas must be quoted (standard CSV). `videos_file` (a CSV with a `video_id` column,
like `MSRVTT_train.9k.csv`) restricts the catalogue to those videos: a caption for any other video stops the
read, since it means the split and the captions disagree.

Video features: with `features_dir`, `<features_dir>/<video_id>.npy` holds a float array [T, D] per video
(frame features from any image/video backbone; T may vary: longer videos are sampled uniformly down to
`frames`, shorter ones zero-padded, `frame_counts` records the real count; D must be the same for all).
Without it, features are synthesised from the captions -- each caption word hashed to a seeded random
direction, a video's frames = the mean of its words' directions + a per-frame drift + noise -- so the case
runs end to end on the caption files alone, and `info["features"]` says the visual channel is not a real
video encoder (the run's summary repeats it).

Bad input stops the read with a DataError naming the file and line (the header is line 1): a missing
column, an empty sentence or video id, a caption for a video not in `videos_file`, a missing or malformed
feature file, feature sizes that differ between videos.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import numpy as np
import polars as pl

from framework.data.retrieval.table import RetrievalCorpus
from framework.data.tabular.table import check_file
from framework.errors import DataError

SYNTHESISED = "synthesised from the captions (no features_dir): the visual channel is not a real video encoder"
REQUIRED = ("video_id", "sentence")


def _rows(file: Path, required: tuple[str, ...], expected: str, max_rows: int | None = None):
    """(line number, row dict) per record of a CSV with a header; DataError when `required` columns lack."""
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise DataError(
                f"{file}, line 1: missing column(s) {missing} in the header {header}; required: "
                f"{list(required)} ({expected})."
            )
        reader.fieldnames = header
        for n, row in enumerate(reader):
            if max_rows is not None and n >= max_rows:
                break
            yield reader.line_num, row


def _read_videos_file(path: str) -> set[str]:
    file = check_file(path, "MSR-VTT videos")
    ids = set()
    for line, row in _rows(file, ("video_id",), "a list of video ids such as MSRVTT_train.9k.csv"):
        video = (row["video_id"] or "").strip()
        if not video:
            raise DataError(f"{file}, line {line}: empty video_id.")
        ids.add(video)
    if not ids:
        raise DataError(f"{file}: no video ids.")
    return ids


def _load_features(folder: Path, video_ids: list[str], frames: int) -> tuple[np.ndarray, np.ndarray]:
    if not folder.is_dir():
        raise DataError(f"features_dir {folder} is not a folder (it should hold <video_id>.npy per video).")
    out: np.ndarray | None = None
    counts = np.zeros(len(video_ids), dtype=np.int64)
    reference = ""
    for i, video in enumerate(video_ids):
        file = folder / f"{video}.npy"
        if not file.is_file():
            raise DataError(f"video '{video}' has captions but no features: expected the file {file}.")
        try:
            array = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{file}: not a readable .npy array ({exc}).") from None
        if array.ndim != 2 or array.shape[0] == 0 or not np.issubdtype(array.dtype, np.number):
            raise DataError(f"{file}: expected a numeric array [frames, features], got {array.dtype} {array.shape}.")
        if out is None:
            out, reference = np.zeros((len(video_ids), frames, array.shape[1]), dtype=np.float32), file.name
        elif array.shape[1] != out.shape[2]:
            raise DataError(
                f"{file}: {array.shape[1]} features per frame, but {reference} has {out.shape[2]}; all videos need "
                f"the same feature size."
            )
        if not np.isfinite(array).all():
            raise DataError(f"{file}: contains NaN or infinite values.")
        t = array.shape[0]
        if t > frames:  # sample uniformly over the whole video rather than keep its start
            array = array[np.linspace(0, t - 1, frames).round().astype(np.int64)]
        counts[i] = len(array)
        out[i, : len(array)] = array
    assert out is not None
    return out, counts


def _word_direction(word: str, seed: int, dim: int) -> np.ndarray:
    # crc32, not hash(): Python salts str hashes per process, and the features must not change between runs.
    return np.random.default_rng([seed, zlib.crc32(word.encode("utf-8"))]).standard_normal(dim)


def _synthesise(captions: list[list[str]], frames: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames from caption words: a video's mean word direction (unit) + a random-walk drift + noise."""
    from framework.search.tokens import tokenize

    directions: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(seed)
    n = len(captions)
    centres = np.zeros((n, dim))
    for i, sentences in enumerate(captions):
        words = [w for s in sentences for w in tokenize(s)] or ["<empty>"]
        for w in words:
            if w not in directions:
                directions[w] = _word_direction(w, seed, dim)
        centre = np.mean([directions[w] for w in words], axis=0)
        centres[i] = centre / max(np.linalg.norm(centre), 1e-9)
    counts = rng.integers(max(1, frames // 2), frames + 1, size=n)
    drift = np.cumsum(rng.standard_normal((n, frames, dim)), axis=1) * (0.15 / np.sqrt(dim))
    noise = rng.standard_normal((n, frames, dim)) * (0.3 / np.sqrt(dim))
    out = (centres[:, None, :] + drift + noise).astype(np.float32)
    out[np.arange(frames)[None, :] >= counts[:, None]] = 0  # zero padding past each video's frame count
    return out, counts.astype(np.int64)


def read_msrvtt(
    path: str,
    features_dir: str | None = None,
    feature_dim: int = 64,
    frames: int = 16,
    seed: int = 0,
    max_rows: int | None = None,
    videos_file: str | None = None,
) -> RetrievalCorpus:
    """The videos of an MSR-VTT caption CSV with their captions and frame features (from `features_dir`, or
    synthesised with `feature_dim`); `frames` pads/samples every video to that many frames; `max_rows` reads
    the first caption rows only; `videos_file` restricts to the videos it lists. queries/qrels are None
    (the recipe queries each caption's video with it)."""
    if frames < 1:
        raise DataError(f"read_msrvtt: frames must be >= 1, got {frames}.")
    file = check_file(path, "MSR-VTT captions")
    allowed = _read_videos_file(videos_file) if videos_file else None
    index: dict[str, int] = {}
    captions: list[list[str]] = []
    items, texts = [], []
    for line, row in _rows(file, REQUIRED, "CLIP4Clip's key,vid_key,video_id,sentence, or video_id,sentence", max_rows):
        video, sentence = (row["video_id"] or "").strip(), (row["sentence"] or "").strip()
        if not video:
            raise DataError(f"{file}, line {line}: empty video_id.")
        if not sentence:
            raise DataError(f"{file}, line {line}: empty sentence for video '{video}'.")
        if allowed is not None and video not in allowed:
            raise DataError(
                f"{file}, line {line}: caption for video '{video}', which is not in videos_file {videos_file} "
                f"({len(allowed)} videos, e.g. '{min(allowed)}'). Are the captions and the video list of the "
                f"same split?"
            )
        if video not in index:
            index[video] = len(index)
            captions.append([])
        captions[index[video]].append(sentence)
        items.append(index[video])
        texts.append(sentence)
    if not index:
        raise DataError(f"{file}: no captions.")
    video_ids = list(index)
    if features_dir:
        features, counts = _load_features(Path(features_dir).expanduser(), video_ids, frames)
        what = f"read from {features_dir} ({features.shape[2]} per frame)"
    else:
        if feature_dim < 1:
            raise DataError(f"read_msrvtt: feature_dim must be >= 1, got {feature_dim}.")
        features, counts = _synthesise(captions, frames, feature_dim, seed)
        what = SYNTHESISED
    table = pl.DataFrame(
        {"item": items, "text": texts, "field": ["caption"] * len(texts)},
        schema={"item": pl.Int64, "text": pl.String, "field": pl.String},
    )
    info = {
        "format": "msrvtt",
        "path": str(file.resolve()),
        "videos": len(video_ids),
        "captions": len(texts),
        "frames": frames,
        "feature_dim": int(features.shape[2]),
        "features": what,
    }
    if allowed is not None:
        info["videos_file"] = str(videos_file)
        info["videos_without_captions"] = len(allowed - set(video_ids))
    return RetrievalCorpus(
        items={"frames": features, "frame_counts": counts},
        item_ids=video_ids,
        texts=table,
        source=file.name,
        info=info,
    )
