"""`PostTable`: posts with text, optional image and author features, and one 0/1 label column per class.

What every harmful-content source returns (the embedded generator, Jigsaw's train.csv, Davidson's
labeled_data.csv). A post may carry several harms at once (multi-label: Jigsaw, the generator), or exactly
one class (`exclusive=True`: Davidson's hate / offensive / neither, scored one-vs-rest as in the paper).

    table = PostTable(frame, classes=["violence", "nudity"], image=["img_0", ...], author=["account_age_days"],
                      source="train.csv")

`frame` columns: `text` (str: raw text, or space-separated tokens), `line` (int64: the file line the post
starts on, for messages; the row number for generated data), one column per class (0/1), then the image
columns (float: a precomputed image embedding) and the author columns (float: account age, violations, ...).
Text-only sources leave `image` and `author` empty: fusion then has one modality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from framework.errors import DataError


@dataclass
class PostTable:
    frame: pl.DataFrame
    classes: list[str]
    source: str
    image: list[str] = field(default_factory=list)
    author: list[str] = field(default_factory=list)
    exclusive: bool = False  # exactly one class per post (multi-class), not multi-label
    info: dict[str, Any] = field(default_factory=dict)  # what the source counted, for the run record

    def __post_init__(self) -> None:
        if self.frame.height == 0:
            raise DataError(f"{self.source}: no data rows.")
        if not self.classes:
            raise ValueError(f"{self.source}: a post table needs at least one class (label column)")
        needed = ("text", "line", *self.classes, *self.image, *self.author)
        missing = [c for c in needed if c not in self.frame.columns]
        if missing:
            raise DataError(f"{self.source}: the table lacks column(s) {missing}.")
