"""Posts for the multi_label kind: source -> stratified split -> tokens, standardised features -> arrays, cached.

1. the source gives a `PostTable` (text, optional image and author features, a 0/1 column per class);
2. split: a seeded permutation within strata (each row's rarest positive class, or none), so every class
   with at least 3 positives has one in train, valid and test (a rare class's PR-AUC needs positives);
3. text: lower-cased word tokens (letters, digits, apostrophes); the vocabulary is the `vocab_size` most
   frequent train tokens seen at least `features.min_count` times (0 = padding, 1 = out of vocabulary);
   each post keeps its first `max_tokens` tokens. Image and author features are standardised with train
   statistics;
4. each split becomes contiguous arrays: `tokens` [N, L] int32, `image` [N, Di], `author` [N, Da],
   `label` [N, C]; the raw texts are kept too (UTF-8 bytes + offsets), for the TF-IDF baseline.
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
from framework.data.moderation import table as table_module
from framework.data.moderation.table import PostTable
from framework.data.module import SplitTablesDataModule
from framework.errors import DataError

PARTS = ("train", "valid", "test")
ROW_ARRAYS = ("tokens", "image", "author", "label")
TOKEN = r"[\p{L}\p{N}']+"
_NOT_SOURCE_ARGS = {
    "_target_",
    "name",
    "split",
    "batch_size",
    "eval_batch_size",
    "features",
    "cache",
    "max_tokens",
    "vocab_size",
}


@dataclass(frozen=True)
class PostSpec:
    """All a model knows about the posts: the vocabulary, the sequence length and the feature widths."""

    vocab_size: int  # including 0 (padding) and 1 (out of vocabulary)
    max_tokens: int
    image_dim: int
    author_dim: int
    classes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PostSpec:
        return cls(**{**d, "classes": tuple(d["classes"])})


def check_labels(table: PostTable) -> None:
    """Every label is 0 or 1; the first other value names its file line. Exclusive tables: one class a row."""
    for name in table.classes:
        label = table.frame[name].cast(pl.Float64, strict=False)
        bad = (label.is_null() | ~label.is_in([0.0, 1.0])).arg_true()
        if bad.len():
            row = int(bad[0])
            raise DataError(
                f"{table.source}, line {table.frame['line'][row]}: label '{name}' is {table.frame[name][row]!r}; "
                f"labels must be 0 or 1. {bad.len()} such row(s). Fix or remove the line(s)."
            )
    if table.exclusive:
        total = table.frame.select(pl.sum_horizontal(table.classes)).to_series()
        bad = (total != 1).arg_true()
        if bad.len():
            row = int(bad[0])
            raise DataError(
                f"{table.source}, line {table.frame['line'][row]}: exactly one of {table.classes} must be 1 "
                f"(the classes are exclusive), got {int(total[row])}."
            )


def stratified_parts(labels: np.ndarray, fractions: list[float], seed: int) -> np.ndarray:
    """Split index (0 train, 1 valid, 2 test) of each row: a seeded permutation within each stratum (the
    row's rarest positive class, or none); a stratum of 3+ rows gives valid and test at least one row each."""
    n, n_classes = labels.shape
    rarity = np.argsort(np.argsort(labels.sum(0)))  # 0 = rarest class
    rank = np.where(labels > 0, rarity[None, :], n_classes)
    stratum = rank.min(1)
    rng = np.random.default_rng(seed)
    part = np.zeros(n, dtype=np.int8)
    for s in np.unique(stratum):
        rows = rng.permutation(np.flatnonzero(stratum == s))
        m = len(rows)
        n_valid, n_test = (round(m * fractions[1]), round(m * fractions[2]))
        if m >= 3:
            n_valid, n_test = max(1, n_valid), max(1, n_test)
        part[rows[m - n_valid - n_test : m - n_test]] = 1
        part[rows[m - n_test :]] = 2
    return part


def _tokens(texts: pl.Series) -> pl.Series:
    return texts.fill_null("").str.to_lowercase().str.extract_all(TOKEN)


def fit_vocabulary(texts: pl.Series, vocab_size: int, min_count: int) -> pl.DataFrame:
    """token -> id (2..), the most frequent train tokens first (ties by token, so it is reproducible)."""
    counts = _tokens(texts).explode().drop_nulls().alias("token").value_counts(name="n")
    counts = counts.filter(pl.col("n") >= min_count).sort(["n", "token"], descending=[True, False]).head(vocab_size - 2)
    return pl.DataFrame({"token": counts["token"], "id": np.arange(2, counts.height + 2, dtype=np.int32)})


def encode_tokens(texts: pl.Series, vocab: pl.DataFrame, max_tokens: int) -> np.ndarray:
    """[N, max_tokens] ids of each text's first tokens (0: padding, 1: out of vocabulary)."""
    long = pl.DataFrame({"tokens": _tokens(texts)}).with_row_index("row").explode("tokens").drop_nulls("tokens")
    long = long.with_columns(pl.int_range(pl.len()).over("row").alias("pos")).filter(pl.col("pos") < max_tokens)
    long = long.join(vocab, left_on="tokens", right_on="token", how="left").with_columns(pl.col("id").fill_null(1))
    out = np.zeros((len(texts), max_tokens), np.int32)
    out[long["row"].to_numpy(), long["pos"].to_numpy()] = long["id"].to_numpy()
    return out


def pack_texts(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of every text, concatenated, and the offsets [N + 1] (no pickled objects in the cache)."""
    encoded = [t.encode("utf-8") for t in texts.fill_null("").to_list()]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in encoded])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def unpack_texts(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = data.tobytes()
    return [raw[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]


def _standardised(frame: pl.DataFrame, columns: list[str], train: pl.DataFrame) -> np.ndarray:
    if not columns:
        return np.zeros((frame.height, 0), np.float32)
    x = frame.select(columns).cast(pl.Float64).fill_null(0.0).to_numpy()
    ref = train.select(columns).cast(pl.Float64).fill_null(0.0).to_numpy()
    std = ref.std(0)
    return ((x - ref.mean(0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


class PostDataModule(SplitTablesDataModule):
    def prepare(self) -> PostSpec:
        start = time.perf_counter()
        key = cache.cache_key(self.cfg, [table_module.__name__, __name__], extra={"seed": self.seed})
        arrays, meta, _, hit = cache.load_or_build(self.cfg, self.cache_dir, key, self._build)
        self.info.update(meta["info"], cache="hit" if hit else "miss", seconds=round(time.perf_counter() - start, 3))
        self.spec = PostSpec.from_dict(meta["spec"])
        self.exclusive = bool(meta["exclusive"])
        self.rows = {p: {name: arrays[f"{p}_{name}"] for name in ROW_ARRAYS} for p in PARTS}
        self.text_arrays = {p: (arrays[f"{p}_text_bytes"], arrays[f"{p}_text_offsets"]) for p in PARTS}
        self.train_rows: np.ndarray | None = None  # a subset of train (negative downsampling), or all
        return self.spec

    @property
    def classes(self) -> tuple[str, ...]:
        return self.spec.classes

    def texts(self, part: str) -> list[str]:
        data, offsets = self.text_arrays[part]
        texts = unpack_texts(data, offsets)
        if part == "train" and self.train_rows is not None:
            return [texts[i] for i in self.train_rows]
        return texts

    def _build(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table, read_seconds = read_source(self.cfg, _NOT_SOURCE_ARGS, PostTable, "posts with labels per class")
        check_labels(table)
        labels = table.frame.select(table.classes).cast(pl.Float32).to_numpy()
        part_of = stratified_parts(labels, list(self.cfg.split), self.seed)
        parts = {p: table.frame.filter(pl.Series(part_of == i)) for i, p in enumerate(PARTS)}
        for name, rows in parts.items():
            if rows.height == 0:
                raise DataError(
                    f"{table.source}: the split {list(self.cfg.split)} leaves no {name} rows ({table.frame.height} "
                    f"rows). Use more data or change dataset.split."
                )
        train = parts["train"]
        max_tokens, vocab_size = int(self.cfg.max_tokens), int(self.cfg.vocab_size)
        vocab = fit_vocabulary(train["text"], vocab_size, int(self.cfg.features.min_count))
        arrays: dict[str, np.ndarray] = {}
        info: dict[str, Any] = {
            "source": table.source,
            "rows_read": table.frame.height,
            "read_seconds": round(read_seconds, 3),
            "source_info": table.info,
            "vocabulary": vocab.height + 2,
            "positives": {},
            "prevalence": {},
        }
        for name, rows in parts.items():
            tokens = encode_tokens(rows["text"], vocab, max_tokens)
            arrays[f"{name}_tokens"] = tokens
            arrays[f"{name}_image"] = _standardised(rows, table.image, train)
            arrays[f"{name}_author"] = _standardised(rows, table.author, train)
            arrays[f"{name}_label"] = rows.select(table.classes).cast(pl.Float32).to_numpy()
            arrays[f"{name}_text_bytes"], arrays[f"{name}_text_offsets"] = pack_texts(rows["text"])
            info[f"{name}_rows"] = rows.height
            positives = arrays[f"{name}_label"].sum(0)
            info["positives"][name] = {c: int(v) for c, v in zip(table.classes, positives, strict=True)}
            info["prevalence"][name] = {
                c: round(float(v) / rows.height, 5) for c, v in zip(table.classes, positives, strict=True)
            }
            if name == "train":
                info["train_out_of_vocabulary"] = round(float((tokens == 1).sum() / max(1, (tokens > 0).sum())), 4)
        spec = PostSpec(vocab.height + 2, max_tokens, len(table.image), len(table.author), tuple(table.classes))
        meta = {"spec": spec.to_dict(), "exclusive": table.exclusive, "info": info, "arrays": sorted(arrays)}
        return arrays, meta

    def keep_classes(self, classes: list[str]) -> None:
        """Train and evaluate only `classes` (a subset of the data's, in the data's order)."""
        unknown = [c for c in classes if c not in self.classes]
        if unknown:
            raise DataError(
                f"multi_label.classes names {unknown}, which dataset '{self.cfg.name}' does not have. "
                f"Its classes: {', '.join(self.classes)}."
            )
        columns = [i for i, c in enumerate(self.classes) if c in classes]
        for rows in self.rows.values():
            rows["label"] = rows["label"][:, columns]
        self.spec = PostSpec(**{**asdict(self.spec), "classes": tuple(c for c in self.classes if c in classes)})
        self.exclusive = False  # a subset of exclusive classes is no longer one-of
        self.info["trained_classes"] = list(self.classes)

    def check_positives(self) -> None:
        """A class without a positive in a split cannot be learned (train) or scored (valid, test: PR-AUC
        and recall are undefined): a DataError naming the class, the split and the counts, before training."""
        for part in PARTS:
            positives = self.rows[part]["label"].sum(0)
            for name, n in zip(self.classes, positives, strict=True):
                if n == 0:
                    others = ",".join(c for c in self.classes if c != name)
                    total = sum(int(self.rows[p]["label"][:, self.classes.index(name)].sum()) for p in PARTS)
                    raise DataError(
                        f"{self.info['source']}: class '{name}' has no positive in the {part} split ({total} "
                        f"positive(s) in all {sum(len(self.rows[p]['label']) for p in PARTS)} rows). Use more data, "
                        f"or leave the class out: multi_label.classes=[{others}]."
                    )

    def downsample_negatives(self, rate: float) -> dict[str, float]:
        """Keep every train post with a positive and a seeded `rate` of the posts with none; the rate at
        which each class's negatives were kept (what recalibration divides by)."""
        label = self.rows["train"]["label"]
        negative = label.sum(1) == 0
        keep = ~negative | (np.random.default_rng(self.seed + 7919).random(len(label)) < rate)
        self.train_rows = np.flatnonzero(keep)
        kept_negatives = ((label == 0) & keep[:, None]).sum(0)
        rates = kept_negatives / np.maximum((label == 0).sum(0), 1)
        self.info["downsampling"] = {"rate": rate, "train_rows_kept": int(keep.sum()), "train_rows": len(label)}
        return {c: float(r) for c, r in zip(self.classes, rates, strict=True)}

    def tensors(self, part: str) -> TensorTable:
        rows = self.rows[part]
        pick = self.train_rows if part == "train" and self.train_rows is not None else slice(None)
        return TensorTable({k: torch.from_numpy(np.ascontiguousarray(rows[k][pick])) for k in ROW_ARRAYS})

    def labels(self, part: str) -> np.ndarray:
        label = self.rows[part]["label"]
        return label[self.train_rows] if part == "train" and self.train_rows is not None else label
