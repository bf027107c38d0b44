"""Synthetic posts with planted harms: text tokens, an image embedding, author features, five classes.

Labels are drawn first, at realistic prevalences, then each class plants its signal in chosen modalities,
so that what a model can see decides what it can detect:

    class            prevalence  planted in
    violence         1.5 %       text (violent words) and image (a direction u_violence): either helps
    nudity           0.8 %       image only (u_nudity): a text-only model cannot see it
    hate             0.5 %       the combination only: a word of group A with the image along +u_hate, or a
                                 word of group B with -u_hate; decoy posts (8 %) carry the mismatched pairs, so
                                 the text alone or the image alone says nothing (an XOR): late fusion (a sum of
                                 per-modality logits) cannot separate it, early fusion (one network) can
    misinformation   0.3 %       text (claim words, also in 1 % of negatives: debunks) and a young account
    spam             2.0 %       author (many reports, young account) and text (link words)

Every harm's author has more prior violations (a signal the classes share: what multi-task heads pool).
Background text is Zipf-distributed words; signal words come from their own ranges of the vocabulary.

    frame = generate(n_posts=20_000, seed=0).frame
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data.moderation.table import PostTable

CLASSES = ("violence", "nudity", "hate", "misinformation", "spam")
PREVALENCE = {"violence": 0.015, "nudity": 0.008, "hate": 0.005, "misinformation": 0.003, "spam": 0.02}
AUTHOR = ("account_age_days", "prior_violations", "reports")


def _unit(rng: np.random.Generator, k: int, dim: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(dim, k)))
    return q.T  # k orthonormal directions


def generate(
    n_posts: int = 100_000,
    vocab_words: int = 3000,
    image_dim: int = 16,
    mean_tokens: int = 18,
    signal: float = 1.0,
    seed: int = 0,
    max_rows: int | None = None,
) -> PostTable:
    """`n_posts` posts (or `max_rows`); `signal` scales every planted effect (0: labels are noise)."""
    n = min(n_posts, max_rows) if max_rows else n_posts
    rng = np.random.default_rng(seed)
    labels = {c: rng.random(n) < p for c, p in PREVALENCE.items()}
    any_harm = np.any(np.stack(list(labels.values())), axis=0)

    # text: background words (Zipf) ...
    length = np.clip(rng.poisson(mean_tokens, n) + 4, 4, 64)
    width = int(length.max())
    ranks = np.minimum(rng.zipf(1.3, size=(n, width)), vocab_words) - 1
    tokens = np.where(np.arange(width)[None, :] < length[:, None], ranks, -1)
    words = {  # ... and each signal's own vocabulary range, above the background words
        g: vocab_words + 20 * i + np.arange(20)
        for i, g in enumerate(("violence", "hate_a", "hate_b", "misinformation", "spam"))
    }

    def plant(rows: np.ndarray, group: str, count: int = 1) -> None:
        for _ in range(count):
            pos = (rng.random(len(rows)) * length[rows]).astype(int)
            tokens[rows, pos] = rng.choice(words[group], size=len(rows))

    image = rng.normal(size=(n, image_dim))
    u_violence, u_nudity, u_hate = _unit(rng, 3, image_dim)
    s = signal

    v = np.flatnonzero(labels["violence"])
    plant(v[rng.random(len(v)) < 0.7], "violence", 2)
    plant(np.flatnonzero(~labels["violence"] & (rng.random(n) < 0.02)), "violence")  # news about violence
    image[v] += 1.5 * s * u_violence

    image[labels["nudity"]] += 2.0 * s * u_nudity

    # hate: the pair (word group, image side) matters; decoys carry the mismatched pairs
    h = np.flatnonzero(labels["hate"])
    decoy = np.flatnonzero(~labels["hate"] & (rng.random(n) < 0.08))
    for rows, match in ((h, True), (decoy, False)):
        side_a = rng.random(len(rows)) < 0.5
        plant(rows[side_a], "hate_a")
        plant(rows[~side_a], "hate_b")
        sign = np.where(side_a == match, 1.0, -1.0)
        image[rows] += 1.8 * s * sign[:, None] * u_hate

    m = np.flatnonzero(labels["misinformation"])
    plant(m[rng.random(len(m)) < 0.8], "misinformation")
    plant(np.flatnonzero(~labels["misinformation"] & (rng.random(n) < 0.01)), "misinformation")  # debunks

    sp = np.flatnonzero(labels["spam"])
    plant(sp[rng.random(len(sp)) < 0.6], "spam", 2)
    plant(np.flatnonzero(~labels["spam"] & (rng.random(n) < 0.01)), "spam")  # people sharing links

    # author: account age (days), prior violations, reports received
    young = labels["misinformation"] | labels["spam"]
    age = rng.lognormal(np.where(young, 6.0 - 2.0 * s, 6.0), 1.0)
    violations = rng.poisson(np.where(any_harm, 0.2 + 1.0 * s, 0.2))
    reports = rng.poisson(np.where(labels["spam"], 0.5 + 3.0 * s, 0.5))

    row, col = np.nonzero(tokens >= 0)  # row-major: each post's words in order
    text = (
        pl.DataFrame({"row": row, "word": tokens[row, col]})
        .group_by("row", maintain_order=True)
        .agg((pl.lit("w") + pl.col("word").cast(pl.String)).str.join(" ").alias("text"))["text"]
    )
    frame = pl.DataFrame(
        {
            "text": text,
            "line": np.arange(1, n + 1, dtype=np.int64),
            **{c: labels[c].astype(np.int8) for c in CLASSES},
            **{f"img_{i}": image[:, i].astype(np.float32) for i in range(image_dim)},
            "account_age_days": np.round(age, 1),
            "prior_violations": violations.astype(np.float64),
            "reports": reports.astype(np.float64),
        }
    )
    info = {
        "planted": {
            "violence": "text+image",
            "nudity": "image",
            "hate": "text x image (XOR)",
            "misinformation": "text+author",
            "spam": "author+text",
        }
    }
    return PostTable(
        frame,
        list(CLASSES),
        f"posts_synthetic(n_posts={n}, seed={seed})",
        image=[f"img_{i}" for i in range(image_dim)],
        author=list(AUTHOR),
        info=info,
    )
