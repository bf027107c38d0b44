"""The tokeniser shared by BM25 indexing and querying: lowercase, split on anything that is not a letter or
a digit, drop a small English stopword list. The same function on both sides, so a query word matches a
document word exactly when their lowercased alphanumeric runs are equal (no stemming: "running" and "run"
are different words, which is what the synthetic data's synonyms count on)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPLIT = re.compile(r"[^0-9a-z]+")

_STOPWORD_TEXT = """
a an and are as at be been but by can did do does for from had has have he her his i if in into is it its me
my no not of on or our she so than that the their them then there these they this to too up us was we were
what when where which while who why will with you your
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def tokenize(text: str) -> list[str]:
    """`text`'s words: lowercased alphanumeric runs, stopwords dropped ("The Cat, then a DOG!" -> cat, dog).
    Note "then" is a stopword: order words in queries ("X then Y") are for the visual channel, not BM25."""
    return [t for t in _SPLIT.split(text.lower()) if t and t not in STOPWORDS]


def tokenize_all(texts: Iterable[str]) -> list[list[str]]:
    """`tokenize` of each text, in order."""
    return [tokenize(t) for t in texts]
