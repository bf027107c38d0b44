"""A retrieval corpus for the contrastive kind: source -> split -> arrays (tokens, gains), cached.

1. the source gives a `RetrievalCorpus` (images, or videos with texts);
2. the catalogue is split into train / valid / test (`dataset.split`), seeded:
   - images: by instance when the source knows instances (every view of an item in one split: a near-
     duplicate never leaks from train to test), else by image within each class (digits, folders);
   - videos: by video; videos the source ties together (`instances`: the generator's order twins, a video
     and its events played in reverse) share a split, so a test video's twin is in the test catalogue;
3. each evaluated split is its own catalogue (the index holds its items) and its queries:
   - images: every image of the split queries the others (itself excluded); relevant = same class;
   - videos: the source's text queries whose best item falls in the split, with their graded relevance
     to the split's videos; a source without queries (MSR-VTT) gets one per video: its first caption;
4. texts are tokenised with a vocabulary of the train captions (`dataset.vocab_size` most frequent,
   `dataset.max_tokens` per text; 0 = padding, 1 = unknown); the text channel's documents (titles, tags,
   descriptions; else the video's other captions) are kept as strings for BM25.

A training batch is a slice of rows: images (+ class, instance), or (caption tokens, video index).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl
import torch

from framework.data import cache, read_source
from framework.data.batching import TensorTable
from framework.data.moderation.datamodule import encode_tokens, fit_vocabulary, pack_texts, unpack_texts
from framework.data.module import SplitTablesDataModule
from framework.data.retrieval import table as table_module
from framework.data.retrieval.table import RetrievalCorpus
from framework.errors import DataError

PARTS = ("train", "valid", "test")
METADATA = ("title", "tags", "description")
_NOT_SOURCE_ARGS = {"_target_", "name", "split", "batch_size", "eval_batch_size", "cache", "max_tokens", "vocab_size"}


@dataclass(frozen=True)
class RetrievalSpec:
    """All an encoder knows about the data."""

    modality: str  # images | videos
    in_channels: int = 0
    image_size: int = 0
    n_classes: int = 0
    vocab_size: int = 0
    max_tokens: int = 0
    feature_dim: int = 0
    max_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split(n: int, groups: np.ndarray, fractions: list[float], seed: int, by_group: bool) -> np.ndarray:
    """Part (0 train, 1 valid, 2 test) per row: whole groups (instances) shuffled, or rows shuffled per group
    (classes: every class in every split)."""
    rng = np.random.default_rng(seed)
    part = np.zeros(n, np.int8)
    if by_group:
        ids = rng.permutation(np.unique(groups))
        cut = np.cumsum([round(len(ids) * f) for f in fractions[:2]])
        part[np.isin(groups, ids[cut[0] : cut[1]])] = 1
        part[np.isin(groups, ids[cut[1] :])] = 2
        return part
    for g in np.unique(groups):
        rows = rng.permutation(np.flatnonzero(groups == g))
        n_valid, n_test = round(len(rows) * fractions[1]), round(len(rows) * fractions[2])
        part[rows[len(rows) - n_valid - n_test : len(rows) - n_test]] = 1
        part[rows[len(rows) - n_test :]] = 2
    return part


class RetrievalDataModule(SplitTablesDataModule):
    def prepare(self) -> RetrievalSpec:
        start = time.perf_counter()
        key = cache.cache_key(self.cfg, [table_module.__name__, __name__], extra={"seed": self.seed})
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build)
        self.info.update(meta["info"], cache="hit" if hit else "miss", seconds=round(time.perf_counter() - start, 3))
        self.spec = RetrievalSpec(**meta["spec"])
        self.arrays = arrays
        self.class_names: list[str] = list(meta.get("class_names", []))
        return self.spec

    # -- building -------------------------------------------------------------------------------------
    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        data, seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, RetrievalCorpus, "a retrieval corpus")
        info: dict[str, Any] = {
            "source": data.source,
            "items_read": len(data.item_ids),
            "read_seconds": round(seconds, 3),
        }
        info["source_info"] = data.info
        if data.modality == "images":
            arrays, spec = self._images(data, info)
        else:
            arrays, spec = self._videos(data, info)
        return arrays, {"spec": asdict(spec), "info": info, "class_names": data.class_names, "arrays": sorted(arrays)}

    def _parts(self, data: RetrievalCorpus, groups: np.ndarray, by_group: bool) -> np.ndarray:
        part = _split(len(data.item_ids), groups, list(self.cfg.split), self.seed, by_group)
        for p, name in enumerate(PARTS):
            if not (part == p).any():
                raise DataError(
                    f"{data.source}: the split {list(self.cfg.split)} leaves no {name} items ({len(part)} items). "
                    "Use more data or change dataset.split."
                )
        return part

    def _images(self, data: RetrievalCorpus, info: dict[str, Any]) -> tuple[dict[str, np.ndarray], RetrievalSpec]:
        images = data.items["images"]
        if images.ndim != 4 or images.dtype != np.uint8:
            raise DataError(f"{data.source}: images must be uint8 [N, H, W, C], got {images.dtype} {images.shape}.")
        n = len(images)
        classes = data.classes if data.classes is not None else np.arange(n)
        instances = data.instances if data.instances is not None else np.full(n, -1)
        by_instance = data.instances is not None and (instances >= 0).all()
        part = self._parts(data, instances if by_instance else classes, by_instance)
        arrays: dict[str, np.ndarray] = {}
        for p, name in enumerate(PARTS):
            rows = np.flatnonzero(part == p)
            arrays[f"{name}_images"] = np.ascontiguousarray(images[rows])
            arrays[f"{name}_classes"] = classes[rows].astype(np.int64)
            arrays[f"{name}_instances"] = instances[rows].astype(np.int64)
        info["rows"] = {name: int((part == p).sum()) for p, name in enumerate(PARTS)}
        info["split_by"] = "instance" if by_instance else "image within class"
        lonely = {
            name: int(sum((arrays[f"{name}_classes"] == c).sum() == 1 for c in np.unique(arrays[f"{name}_classes"])))
            for name in ("valid", "test")
        }
        info["queries_without_relevant"] = lonely  # a class seen once in a split has nothing to find: not scored
        spec = RetrievalSpec(
            "images", in_channels=images.shape[3], image_size=images.shape[1], n_classes=int(classes.max()) + 1
        )
        return arrays, spec

    def _videos(self, data: RetrievalCorpus, info: dict[str, Any]) -> tuple[dict[str, np.ndarray], RetrievalSpec]:
        frames, counts = data.items["frames"].astype(np.float32), data.items["frame_counts"].astype(np.int64)
        if data.texts is None:
            raise DataError(f"{data.source}: a video corpus needs texts (captions) to train the text encoder on.")
        n = len(frames)
        stories = data.instances is not None and (data.instances >= 0).all()  # videos that must share a split
        part = self._parts(data, data.instances if stories else np.arange(n), by_group=True)
        texts = data.texts.with_columns(pl.col("item").cast(pl.Int64))
        captions = texts.filter(pl.col("field") == "caption")
        part_of = pl.Series(part.astype(np.int64))
        train_captions = captions.filter(part_of.gather(captions["item"]) == 0)
        if len(train_captions) == 0:
            raise DataError(f"{data.source}: no caption of a train video: nothing to train the encoders on.")
        vocab = fit_vocabulary(train_captions["text"], int(self.cfg.vocab_size), 1)
        max_tokens = int(self.cfg.max_tokens)
        local = np.full(n, -1, np.int64)  # item -> row within its part
        arrays: dict[str, np.ndarray] = {}
        for p, name in enumerate(PARTS):
            rows = np.flatnonzero(part == p)
            local[rows] = np.arange(len(rows))
            arrays[f"{name}_frames"], arrays[f"{name}_counts"] = frames[rows], counts[rows]
        arrays["train_caption_tokens"] = encode_tokens(train_captions["text"], vocab, max_tokens)
        arrays["train_caption_video"] = local[train_captions["item"].to_numpy()]
        info["rows"] = {name: int((part == p).sum()) for p, name in enumerate(PARTS)}
        info["train_captions"] = len(train_captions)
        info["vocabulary"] = len(vocab) + 2
        arrays["train_vocab_text"], arrays["train_vocab_offsets"] = pack_texts(vocab["token"])  # id = row + 2
        dropped: dict[str, int] = {}
        query_kinds: dict[str, int] = {}  # the source's query kinds (e.g. metadata words, caption words, order)
        for p, name in ((1, "valid"), (2, "test")):
            queries, gains, used, kinds = self._queries(data, captions, part, local, p)
            arrays[f"{name}_query_kind"] = np.array(
                [query_kinds.setdefault(k, len(query_kinds)) for k in kinds], np.int64
            )
            arrays[f"{name}_query_tokens"] = encode_tokens(pl.Series(queries), vocab, max_tokens)
            arrays[f"{name}_gains"] = gains
            arrays[f"{name}_query_text"], arrays[f"{name}_query_offsets"] = pack_texts(pl.Series(queries))
            docs = self._documents(texts, np.flatnonzero(part == p), used)
            arrays[f"{name}_doc_text"], arrays[f"{name}_doc_offsets"] = pack_texts(pl.Series(docs))
            info[f"{name}_queries"] = len(queries)
            dropped[name] = int(sum(1 for d in docs if not d.strip()))
        info["query_kinds"] = list(query_kinds)
        info["videos_without_text"] = dropped  # the text channel cannot find these (no metadata, no other caption)
        info["text_channel_documents"] = "metadata" if texts["field"].is_in(list(METADATA)).any() else "other captions"
        spec = RetrievalSpec(
            "videos",
            vocab_size=len(vocab) + 2,
            max_tokens=max_tokens,
            feature_dim=frames.shape[2],
            max_frames=frames.shape[1],
        )
        return arrays, spec

    @staticmethod
    def _queries(
        data: RetrievalCorpus, captions: pl.DataFrame, part: np.ndarray, local: np.ndarray, p: int
    ) -> tuple[list[str], np.ndarray, dict[int, str], list[str]]:
        """(query texts, gains [Q, n_part], the caption each video's query was taken from, the queries' kinds:
        the source's `kind` column, else "caption")."""
        size = int((part == p).sum())
        if data.queries is None or data.qrels is None:
            first = captions.filter(pl.Series(part.astype(np.int64)).gather(captions["item"]) == p)
            first = first.group_by("item", maintain_order=True).first().sort("item")
            gains = np.zeros((len(first), size), np.float32)
            gains[np.arange(len(first)), local[first["item"].to_numpy()]] = 1.0
            used = dict(zip(first["item"].to_list(), first["text"].to_list(), strict=True))
            return first["text"].to_list(), gains, used, ["caption"] * len(first)
        qrels = data.qrels.filter(pl.col("grade") > 0)
        best = qrels.sort(["grade", "item"], descending=[True, False]).group_by("query", maintain_order=True).first()
        mine = best.filter(pl.Series(part.astype(np.int64)).gather(best["item"]) == p)["query"]
        rows = qrels.filter(pl.col("query").is_in(mine.implode()) & (pl.Series(part).gather(qrels["item"]) == p))
        order = {q: i for i, q in enumerate(mine.to_list())}
        gains = np.zeros((len(order), size), np.float32)
        gains[[order[q] for q in rows["query"].to_list()], local[rows["item"].to_numpy()]] = rows["grade"].to_numpy()
        text = dict(zip(data.queries["query"].to_list(), data.queries["text"].to_list(), strict=True))
        kinds = data.queries["kind"] if "kind" in data.queries.columns else pl.Series(["query"] * len(data.queries))
        kind = dict(zip(data.queries["query"].to_list(), kinds.cast(pl.String).to_list(), strict=True))
        return [text[q] for q in mine.to_list()], gains, {}, [kind[q] for q in mine.to_list()]

    @staticmethod
    def _documents(texts: pl.DataFrame, items: np.ndarray, used: dict[int, str]) -> list[str]:
        """The text channel's document per video: its metadata, else its captions but the one it is queried by."""
        has_metadata = texts["field"].is_in(list(METADATA)).any()
        wanted = texts.filter(pl.col("field").is_in(list(METADATA)) if has_metadata else pl.col("field") == "caption")
        by_item: dict[int, list[str]] = {}
        for item, text in zip(wanted["item"].to_list(), wanted["text"].to_list(), strict=True):
            if has_metadata or used.get(item) != text:
                by_item.setdefault(item, []).append(text)
        return [" ".join(by_item.get(int(i), [])) for i in items]

    # -- reading ---------------------------------------------------------------------------------------
    def texts(self, part: str, what: str) -> list[str]:
        """`query` texts or `doc` (text-channel documents) of a split; `vocab` of train: the caption
        vocabulary (a word's id is its row + 2)."""
        return unpack_texts(self.arrays[f"{part}_{what}_text"], self.arrays[f"{part}_{what}_offsets"])

    def array(self, part: str, name: str) -> np.ndarray:
        return self.arrays[f"{part}_{name}"]

    def token_ids(self, words: list[str] | tuple[str, ...]) -> list[int]:
        """The text encoder's ids of those `words` that are in the train captions' vocabulary."""
        vocab = {token: i + 2 for i, token in enumerate(self.texts("train", "vocab"))}
        return [vocab[w] for w in words if w in vocab]

    def tensors(self, part: str) -> TensorTable:
        if self.spec.modality == "images":
            names = ("images", "classes", "instances")
            table = {k: torch.from_numpy(np.ascontiguousarray(self.arrays[f"{part}_{k}"])) for k in names}
            if part != "train":
                table["query"] = torch.arange(len(table["images"]))
            return TensorTable(table)
        if part == "train":
            return TensorTable(
                {
                    "tokens": torch.from_numpy(self.arrays["train_caption_tokens"]),
                    "video": torch.from_numpy(self.arrays["train_caption_video"]),
                }
            )
        return TensorTable({"query": torch.arange(len(self.arrays[f"{part}_query_tokens"]))})
