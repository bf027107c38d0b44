"""Seeded videos with titles, tags, descriptions, captions and graded text queries, for video search.

Each video has a latent topic (`n_topics`, e.g. cooking) and a sequence of 2-4 distinct events drawn from its
topic's `events_per_topic` event types (e.g. chop, boil). Every topic and event has two words: a metadata
word ("cooking", "chop") that uploaders write in titles, tags and descriptions, and a caption word
("kitchen", "slices") that describes what is seen. The two vocabularies are disjoint, so BM25 over metadata
cannot find what only the captions say, and a text encoder trained on captions never sees metadata words.

Frames ([N, `frames`, `feature_dim`] float32, 3/4 to all of `frames` real, zero-padded): a unit topic
direction + the current event's unit direction (the events occupy consecutive, near-equal segments of the
real frames, in order) + a per-video style offset (norm `style`) + per-frame noise (norm about `noise`).
So a frame-mean encoder sees the topic and the event *set*, not their order; a temporal encoder can see
the order. A share `order_twins` of the videos replays an earlier video's events in reverse order (same
topic, same set): equal frame means up to the noise, different frame sequences. A twin and its original
share an `instances` id, so the data module keeps them in one split.

Texts (`field`): a "title" (topic + first event + filler; a share `generic_titles` is clickbait with no
topic word), "tags" (topic, some events, filler; a share `clickbait_tags` adds other topics' words),
a "description" (topic + all events, shuffled: not in the video's order; missing for `missing_descriptions`), and
2-5 "caption"s in caption words (the first one the whole sequence in order, "... then ..."). A share
`wrong_metadata` of videos has the title, tags and description of another, random video (a reused template).

Queries (`queries_per_video` x N, each from a distinct target video; columns query, text, kind, target):
- "metadata": topic + 2-3 of the target's events in metadata words ("cooking chop boil"): text search's case;
- "content": the same in caption words ("kitchen slices simmers"): only the visual channel can answer;
- "mixed": topic in metadata words, events in caption words: needs both channels (fusion's case);
- "order": caption words with an order, "kitchen slices then simmers": needs a temporal encoder; targets
  videos with an order twin when there are any.
Grades: 2 for videos of the target's topic with all the query's events (and, for "order", in that order);
1 for the other videos of that topic sharing at least one of them. The target always has grade 2.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from framework.data.retrieval.table import RetrievalCorpus
from framework.errors import DataError

# (metadata word, caption word): disjoint vocabularies.
TOPICS = [
    ("cooking", "kitchen"), ("skateboarding", "ramp"), ("gardening", "backyard"), ("soccer", "pitch"),
    ("makeup", "mirror"), ("carpentry", "workbench"), ("fishing", "lake"), ("yoga", "mat"),
    ("guitar", "acoustic"), ("painting", "canvas"), ("baking", "oven"), ("surfing", "waves"),
    ("hiking", "trail"), ("basketball", "court"), ("dancing", "stage"), ("cycling", "bike"),
    ("swimming", "pool"), ("camping", "tent"), ("unboxing", "package"), ("gaming", "console"),
]  # fmt: skip
EVENTS = [
    ("chop", "slices"), ("boil", "simmers"), ("fry", "sizzles"), ("stir", "mixes"), ("pour", "fills"),
    ("jump", "leaps"), ("run", "sprints"), ("fall", "tumbles"), ("climb", "ascends"), ("spin", "twirls"),
    ("throw", "tosses"), ("catch", "grabs"), ("kick", "strikes"), ("paint", "brushes"), ("cut", "trims"),
    ("dig", "shovels"), ("plant", "sows"), ("water", "sprinkles"), ("sing", "hums"), ("clap", "applauds"),
    ("wave", "gestures"), ("laugh", "giggles"), ("talk", "chats"), ("walk", "strolls"), ("dive", "plunges"),
    ("paddle", "rows"), ("lift", "raises"), ("push", "shoves"), ("pull", "tugs"), ("open", "unwraps"),
    ("build", "assembles"), ("drill", "bores"), ("sand", "smooths"), ("measure", "gauges"),
    ("stretch", "bends"), ("balance", "steadies"), ("score", "nets"), ("shoot", "aims"), ("wash", "rinses"),
    ("dry", "wipes"),
]  # fmt: skip
TITLE_FILLER = ["vlog", "tutorial", "hd", "episode", "part", "best", "easy", "tips", "guide", "2024", "highlights"]
CLICKBAIT_TITLES = ["you won't believe this", "omg must watch", "insane moment", "watch till the end", "best day ever"]
CLICKBAIT_TAGS = ["viral", "trending", "fyp", "funny", "wow", "shorts", "epic"]
DESCRIPTION_FILLER = ["subscribe for more", "filmed on my phone", "thanks for watching", "like and share", "new video"]
SUBJECTS = ["a man", "a woman", "someone", "a kid", "two friends", "a person", "people"]
QUERY_KINDS = ("metadata", "content", "mixed", "order")


def _topic_words(n_topics: int) -> list[tuple[str, str]]:
    extra = [(f"topic{i}", f"scene{i}") for i in range(len(TOPICS), n_topics)]  # beyond the named ones
    return (TOPICS + extra)[:n_topics]


def plan_videos(
    n_videos: int, n_topics: int = 20, events_per_topic: int = 8, order_twins: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """The latent plan: (topic [N], event sequences (local event indices 0..E-1), twin_of [N]: the earlier
    video whose events a twin reverses, -1 if none; topic_events [n_topics, E]: each topic's events as
    indices into EVENTS). `generate` draws exactly this with the same arguments."""
    rng = np.random.default_rng([seed, 1])
    topic_events = np.stack([rng.choice(len(EVENTS), events_per_topic, replace=False) for _ in range(n_topics)])
    topics = np.zeros(n_videos, dtype=np.int64)
    twin_of = np.full(n_videos, -1, dtype=np.int64)
    sequences: list[tuple[int, ...]] = []
    originals: list[int] = []
    for i in range(n_videos):
        if originals and rng.random() < order_twins:
            j = originals.pop(int(rng.integers(len(originals))))  # each original gets at most one twin
            topics[i], twin_of[i] = topics[j], j
            sequences.append(sequences[j][::-1])
            continue
        topics[i] = rng.integers(n_topics)
        k = int(rng.integers(2, 5))
        sequences.append(tuple(int(e) for e in rng.choice(events_per_topic, k, replace=False)))
        originals.append(i)
    return topics, sequences, twin_of, topic_events


def _features(
    rng: np.random.Generator,
    topics: np.ndarray,
    sequences: list[tuple[int, ...]],
    n_topics: int,
    events_per_topic: int,
    frames: int,
    min_frames: int,
    dim: int,
    noise: float,
    style: float,
) -> tuple[np.ndarray, np.ndarray]:
    def unit(shape: tuple[int, ...]) -> np.ndarray:
        v = rng.standard_normal((*shape, dim))
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    topic_dir = unit((n_topics,))
    event_dir = unit((n_topics * events_per_topic,))  # an event type looks different in each topic
    n = len(topics)
    counts = rng.integers(min_frames, frames + 1, size=n)
    event_at = np.full((n, frames), -1, dtype=np.int64)
    f = np.arange(frames)
    for i, seq in enumerate(sequences):
        t = counts[i]
        # Near-equal consecutive segments, in order: frame f of t shows event floor(f * k / t).
        event_at[i, :t] = np.asarray(seq)[(f[:t] * len(seq)) // t] + topics[i] * events_per_topic
    out = topic_dir[topics][:, None, :] + event_dir[np.maximum(event_at, 0)]
    out += style * unit((n,))[:, None, :]
    out += rng.standard_normal((n, frames, dim)) * (noise / np.sqrt(dim))
    out[event_at < 0] = 0
    return out.astype(np.float32), counts.astype(np.int64)


def _metadata(rng: np.random.Generator, topic: tuple[str, str], events: list[tuple[str, str]]):
    """(title, tags, description) in metadata words."""
    words = [e[0] for e in events]
    title = f"{topic[0]} {words[0]} {' '.join(rng.choice(TITLE_FILLER, 2, replace=False))}"
    kept = [w for w in words if rng.random() < 0.7] or [words[0]]
    tags = [topic[0], *kept, *rng.choice(CLICKBAIT_TAGS, int(rng.integers(0, 3)), replace=False)]
    shuffled = list(rng.permutation(words))  # a description lists what is in the video, not in what order
    description = f"{topic[0]} video with {', '.join(shuffled)}. {rng.choice(DESCRIPTION_FILLER)}"
    return title, tags, description


def _captions(rng: np.random.Generator, topic: tuple[str, str], events: list[tuple[str, str]]) -> list[str]:
    """2-5 captions in caption words; the first tells the whole sequence in order."""
    words = [e[1] for e in events]
    place = topic[1]
    out = [f"{rng.choice(SUBJECTS)} {' then '.join(words)} at the {place}"]
    for _ in range(int(rng.integers(1, 5))):
        style = rng.integers(3)
        if style == 0:  # a single event
            out.append(f"{rng.choice(SUBJECTS)} {rng.choice(words)} at the {place}")
        elif style == 1:  # two consecutive events, in order
            a = int(rng.integers(len(words) - 1))
            out.append(f"first {rng.choice(SUBJECTS)} {words[a]} and after that {words[a + 1]} near the {place}")
        else:  # the set, no order
            shuffled = list(rng.permutation(words))
            out.append(f"at the {place} {rng.choice(SUBJECTS)} {' and '.join(shuffled)}")
    return out


def generate(
    n_videos: int = 2000,
    n_topics: int = 20,
    frames: int = 16,
    feature_dim: int = 64,
    queries_per_video: float = 0.5,
    seed: int = 0,
    max_rows: int | None = None,
    events_per_topic: int = 8,
    order_twins: float = 0.2,
    noise: float = 0.5,
    style: float = 0.3,
    min_frames: int | None = None,
    generic_titles: float = 0.2,
    clickbait_tags: float = 0.3,
    wrong_metadata: float = 0.1,
    missing_descriptions: float = 0.15,
    query_mix: tuple[float, float, float, float] = (0.3, 0.3, 0.2, 0.2),
) -> RetrievalCorpus:
    """`n_videos` seeded videos (the first `max_rows` only, when given) with texts and graded queries; see
    the module docstring for the planted structure. `query_mix`: shares of metadata/content/mixed/order."""
    n = n_videos if max_rows is None else min(n_videos, max_rows)
    min_frames = max(4, (frames * 3) // 4) if min_frames is None else min_frames
    if n < 1:
        raise DataError(f"synthetic videos: n_videos must be >= 1, got {n_videos}.")
    if not 4 <= min_frames <= frames:
        raise DataError(
            f"synthetic videos: need 4 <= min_frames <= frames (4 events at most), got {min_frames}, {frames}."
        )
    if not 4 <= events_per_topic <= len(EVENTS):
        raise DataError(f"synthetic videos: events_per_topic must be in 4..{len(EVENTS)}, got {events_per_topic}.")
    if n_topics < 1 or feature_dim < 1 or queries_per_video < 0:
        raise DataError("synthetic videos: n_topics and feature_dim must be >= 1, queries_per_video >= 0.")
    mix = np.asarray(query_mix, dtype=np.float64)
    if mix.shape != (4,) or (mix < 0).any() or mix.sum() <= 0:
        raise DataError(f"synthetic videos: query_mix needs 4 shares >= 0 ({', '.join(QUERY_KINDS)}), got {query_mix}.")

    topics, sequences, twin_of, topic_events = plan_videos(n, n_topics, events_per_topic, order_twins, seed)
    rng = np.random.default_rng([seed, 2])
    features, counts = _features(
        rng, topics, sequences, n_topics, events_per_topic, frames, min_frames, feature_dim, noise, style
    )
    names = _topic_words(n_topics)

    def events_of(i: int) -> list[tuple[str, str]]:
        return [EVENTS[topic_events[topics[i], e]] for e in sequences[i]]

    items, texts, fields = [], [], []

    def add(i: int, text: str, field: str) -> None:
        items.append(i)
        texts.append(text)
        fields.append(field)

    counted = {"generic_titles": 0, "wrong_metadata": 0, "clickbait_tags": 0, "missing_descriptions": 0}
    for i in range(n):
        source = i
        if rng.random() < wrong_metadata and n > 1:  # a reused template: another video's metadata
            source = int((i + rng.integers(1, n)) % n)
            counted["wrong_metadata"] += 1
        others = [names[t][0] for t in range(n_topics) if t != topics[source]]
        title, tags, description = _metadata(rng, names[topics[source]], events_of(source))
        if rng.random() < generic_titles:
            title = f"{rng.choice(CLICKBAIT_TITLES)} {rng.choice(TITLE_FILLER)}"
            counted["generic_titles"] += 1
        if others and rng.random() < clickbait_tags:
            tags += list(rng.choice(others, min(2, len(others)), replace=False))
            counted["clickbait_tags"] += 1
        add(i, title, "title")
        add(i, " ".join(tags), "tags")
        if rng.random() < missing_descriptions:
            counted["missing_descriptions"] += 1
        else:
            add(i, description, "description")
        for caption in _captions(rng, names[topics[i]], events_of(i)):
            add(i, caption, "caption")

    queries, qrels, kinds = _queries(rng, n, queries_per_video, mix, topics, sequences, twin_of, topic_events, names)
    info = {
        "generator": "synthetic videos (topic + ordered events; metadata vs caption vocabularies)",
        "videos": n,
        "topics": n_topics,
        "events_per_topic": events_per_topic,
        "frames": frames,
        "feature_dim": feature_dim,
        "order_twins": int((twin_of >= 0).sum()),
        **counted,
        "queries": queries.height,
        "query_kinds": kinds,
        "features": "synthetic",
    }
    return RetrievalCorpus(
        items={"frames": features, "frame_counts": counts},
        item_ids=[f"vid{i:05d}" for i in range(n)],
        source="synthetic videos",
        classes=topics,
        instances=np.where(twin_of >= 0, twin_of, np.arange(n)),  # a twin and its original: one story, one split
        class_names=[t[0] for t in names],
        texts=pl.DataFrame(
            {"item": items, "text": texts, "field": fields},
            schema={"item": pl.Int64, "text": pl.String, "field": pl.String},
        ),
        queries=queries,
        qrels=qrels,
        info=info,
    )


def _queries(
    rng: np.random.Generator,
    n: int,
    queries_per_video: float,
    mix: np.ndarray,
    topics: np.ndarray,
    sequences: list[tuple[int, ...]],
    twin_of: np.ndarray,
    topic_events: np.ndarray,
    names: list[tuple[str, str]],
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    n_queries = min(n, max(1, round(queries_per_video * n))) if queries_per_video > 0 else 0
    kinds = rng.choice(len(QUERY_KINDS), n_queries, p=mix / mix.sum())
    # Order queries go to videos that have an order twin (either side) first: there the order decides.
    twinned = np.zeros(n, dtype=bool)
    twinned[twin_of[twin_of >= 0]] = True
    twinned[twin_of >= 0] = True
    perm = rng.permutation(n)
    pools = {True: [int(i) for i in perm if twinned[i]], False: [int(i) for i in perm if not twinned[i]]}
    by_topic = {t: np.flatnonzero(topics == t) for t in np.unique(topics)}
    positions = [{e: p for p, e in enumerate(seq)} for seq in sequences]
    q_rows: dict[str, list] = {"query": [], "text": [], "kind": [], "target": []}
    r_rows: dict[str, list] = {"query": [], "item": [], "grade": []}
    for q, kind_index in enumerate(kinds):
        kind = QUERY_KINDS[kind_index]
        first = kind == "order"
        pool = pools[first] or pools[not first]
        target = pool.pop()
        seq = sequences[target]
        if kind == "order":
            a = int(rng.integers(len(seq) - 1))
            b = int(rng.integers(a + 1, len(seq)))
            chosen = [seq[a], seq[b]]
        else:
            chosen = [seq[p] for p in sorted(rng.choice(len(seq), min(len(seq), 3), replace=False))]
            chosen = list(rng.permutation(chosen))
        topic_words = names[topics[target]]
        words = [EVENTS[topic_events[topics[target], e]] for e in chosen]
        if kind == "metadata":
            text = " ".join([topic_words[0], *(w[0] for w in words)])
        elif kind == "content":
            text = " ".join([topic_words[1], *(w[1] for w in words)])
        elif kind == "mixed":
            text = " ".join([topic_words[0], *(w[1] for w in words)])
        else:
            text = f"{topic_words[1]} {words[0][1]} then {words[1][1]}"
        for i in by_topic[topics[target]]:
            pos = positions[i]
            shared = sum(e in pos for e in chosen)
            if shared == 0:
                continue
            grade = 1
            if shared == len(chosen) and (kind != "order" or pos[chosen[0]] < pos[chosen[1]]):
                grade = 2
            r_rows["query"].append(q)
            r_rows["item"].append(int(i))
            r_rows["grade"].append(grade)
        q_rows["query"].append(q)
        q_rows["text"].append(text)
        q_rows["kind"].append(kind)
        q_rows["target"].append(target)
    queries = pl.DataFrame(q_rows, schema={"query": pl.Int64, "text": pl.String, "kind": pl.String, "target": pl.Int64})
    qrels = pl.DataFrame(r_rows, schema={"query": pl.Int64, "item": pl.Int64, "grade": pl.Int64})
    counts = {k: int((kinds == i).sum()) for i, k in enumerate(QUERY_KINDS)}
    return queries, qrels, counts
