"""`RetrievalCorpus`: what every source of a contrastive retrieval case returns (visual search, video search).

A catalogue of items in one modality, with what relevance is judged by:

    images: RetrievalCorpus(items={"images": uint8 [N, H, W, C]}, item_ids=[file names], classes=int [N],
                            instances=int [N] or None, class_names=[...], source="digits")
    videos: RetrievalCorpus(items={"frames": float32 [N, T, D], "frame_counts": int64 [N]}, item_ids=[video ids],
                            texts=frame(item, text, field), queries=frame(query, text),
                            qrels=frame(query, item, grade), source="MSRVTT_JSFUSION_test.csv")

- `items`: the catalogue's inputs by name, first axis = item. Images share one size and channel count
  (C = 1 or 3); videos are zero-padded to T frames, `frame_counts` says how many are real.
- `classes` / `instances`: the image cases' relevance: same class (class search), same instance
  (near-duplicate search: views of one physical item). -1 where unknown.
- `texts`: text attached to items, one row per (item, field): `field` is "caption" (what a contrastive
  model trains on; MSR-VTT's sentences) or metadata ("title", "tags", "description": what text search
  indexes).
- `queries` / `qrels`: explicit text queries and their graded relevance (grade > 0) to items. None: the
  case derives them (visual search: each test image queries the others; video search: each test caption
  queries its own video with grade 1).
- `info`: what the source wants said in the run's summary (e.g. "video features synthesised").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from framework.errors import DataError

TEXT_FIELDS = ("caption", "title", "tags", "description")


@dataclass
class RetrievalCorpus:
    items: dict[str, np.ndarray]
    item_ids: list[str]
    source: str
    classes: np.ndarray | None = None
    instances: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    texts: pl.DataFrame | None = None
    queries: pl.DataFrame | None = None
    qrels: pl.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        if n == 0:
            raise DataError(f"{self.source}: no items.")
        for name, array in self.items.items():
            if len(array) != n:
                raise DataError(f"{self.source}: '{name}' has {len(array)} rows for {n} items.")
        for name in ("classes", "instances"):
            array = getattr(self, name)
            if array is not None and len(array) != n:
                raise DataError(f"{self.source}: '{name}' has {len(array)} rows for {n} items.")
        if self.texts is not None:
            _check_columns(self.texts, ("item", "text", "field"), self.source, "texts")
            bad = self.texts.filter((pl.col("item") < 0) | (pl.col("item") >= n))
            if len(bad):
                raise DataError(f"{self.source}: {len(bad)} text row(s) name an item outside 0..{n - 1}.")
            unknown = set(self.texts["field"].unique().to_list()) - set(TEXT_FIELDS)
            if unknown:
                raise DataError(f"{self.source}: unknown text field(s) {sorted(unknown)}; known: {TEXT_FIELDS}.")
        if (self.queries is None) != (self.qrels is None):
            raise DataError(f"{self.source}: queries and qrels come together (one of them is missing).")
        if self.queries is not None and self.qrels is not None:
            _check_columns(self.queries, ("query", "text"), self.source, "queries")
            _check_columns(self.qrels, ("query", "item", "grade"), self.source, "qrels")
            empty = self.queries.filter(pl.col("text").str.strip_chars().str.len_chars() == 0)
            if len(empty):
                raise DataError(f"{self.source}: {len(empty)} empty quer(ies), e.g. query {empty['query'][0]}.")

    @property
    def modality(self) -> str:
        """ "images" or "videos": which catalogue this is (what the recipe and the encoders read)."""
        if "images" in self.items:
            return "images"
        if "frames" in self.items:
            return "videos"
        raise DataError(f"{self.source}: items must hold 'images' or 'frames', got {sorted(self.items)}.")


def _check_columns(frame: pl.DataFrame, columns: tuple[str, ...], source: str, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: the {what} table lacks column(s) {missing}.")
