"""youtube_video_search data and text search: the synthetic video generator, the MSR-VTT reader, BM25 (against
rank-bm25) and rank fusion (against ranx)."""

from __future__ import annotations

import os

# ranx's numba kernels take ~40 s to compile on a fresh machine (no numba cache yet); on the 20-query
# references here plain Python is instant. Set before anything imports numba.
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

import itertools
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from framework.data.formats.msrvtt import SYNTHESISED, read_msrvtt
from framework.data.synthetic.videos import EVENTS, TOPICS, generate, plan_videos
from framework.errors import DataError
from framework.search.bm25 import BM25Search
from framework.search.fusion import reciprocal_rank_fusion, weighted_score_fusion
from framework.search.tokens import tokenize, tokenize_all

MSRVTT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "msrvtt"


@pytest.fixture(scope="module")
def videos():
    start = time.perf_counter()
    corpus = generate()
    return corpus, time.perf_counter() - start


# ---- the synthetic generator ---------------------------------------------------------------------------------


def test_generator_shapes_dtypes_and_speed(videos):
    corpus, seconds = videos
    frames, counts = corpus.items["frames"], corpus.items["frame_counts"]
    assert frames.shape == (2000, 16, 64) and frames.dtype == np.float32
    assert counts.dtype == np.int64 and counts.min() >= 12 and counts.max() <= 16
    padded = np.arange(16)[None, :] >= counts[:, None]
    assert not frames[padded].any() and (np.abs(frames[~padded]).sum(-1) > 0).all()
    assert corpus.modality == "videos" and len(corpus.item_ids) == 2000
    assert set(corpus.texts["field"].unique()) == {"caption", "title", "tags", "description"}
    per_video = corpus.texts.filter(pl.col("field") == "caption").group_by("item").len()["len"]
    assert per_video.min() >= 2 and per_video.max() <= 5 and len(per_video) == 2000
    assert corpus.queries.height == 1000 and corpus.info["features"] == "synthetic"
    assert set(corpus.queries["kind"]) == {"metadata", "content", "mixed", "order"}
    assert seconds < 3.0, f"2,000 videos took {seconds:.2f} s"


def test_generator_is_deterministic_and_seeded():
    a, b, c = generate(200, seed=3), generate(200, seed=3), generate(200, seed=4)
    assert np.array_equal(a.items["frames"], b.items["frames"])
    assert a.texts.equals(b.texts) and a.queries.equals(b.queries) and a.qrels.equals(b.qrels)
    assert not np.array_equal(a.items["frames"], c.items["frames"])
    assert generate(2000, max_rows=50).items["frames"].shape[0] == 50


def test_every_query_has_relevant_items_and_its_target_grade_2(videos):
    corpus, _ = videos
    queries, qrels = corpus.queries, corpus.qrels
    assert (queries["text"].str.strip_chars().str.len_chars() > 0).all()
    assert qrels["grade"].is_in([1, 2]).all()
    best = qrels.group_by("query").agg(pl.col("grade").max())
    assert best.height == queries.height and (best["grade"] == 2).all()
    targets = queries.select("query", pl.col("target").alias("item")).join(qrels, on=["query", "item"])
    assert targets.height == queries.height and (targets["grade"] == 2).all()
    assert queries["target"].n_unique() == queries.height  # one query per target video


def test_vocabularies_are_split_between_metadata_and_captions(videos):
    corpus, _ = videos
    metadata_words = {t[0] for t in TOPICS} | {e[0] for e in EVENTS}
    caption_words = {t[1] for t in TOPICS} | {e[1] for e in EVENTS}
    captions = corpus.texts.filter(pl.col("field") == "caption")["text"].to_list()
    metadata = corpus.texts.filter(pl.col("field") != "caption")["text"].to_list()
    assert not {w for ws in tokenize_all(captions) for w in ws} & metadata_words
    assert not {w for ws in tokenize_all(metadata) for w in ws} & caption_words


def test_text_search_finds_metadata_queries_not_visual_ones(videos):
    corpus, _ = videos
    docs = corpus.texts.filter(pl.col("field") != "caption").group_by("item").agg(pl.col("text").str.join(" "))
    documents = [""] * len(corpus.item_ids)
    for item, text in docs.iter_rows():
        documents[item] = text
    _, ids = BM25Search().index(documents).search(corpus.queries["text"].to_list(), 1)
    top = pl.DataFrame({"query": corpus.queries["query"], "item": ids[:, 0], "kind": corpus.queries["kind"]})
    hit = top.join(corpus.qrels.filter(pl.col("grade") == 2), on=["query", "item"], how="left")
    rate = hit.group_by("kind").agg(pl.col("grade").is_not_null().mean()).to_dict(as_series=False)
    rate = dict(zip(rate["kind"], rate["grade"], strict=True))
    assert 0.7 < rate["metadata"] < 1.0  # good, but noisy metadata keeps it imperfect
    assert rate["content"] == 0 and rate["order"] == 0  # caption words are not in any metadata


def test_planted_order_effect():
    """Order twins (same topic and events, reversed): equal frame means up to noise, different sequences."""
    corpus = generate(400, min_frames=16, seed=1)
    _, sequences, twin_of, _ = plan_videos(400, seed=1)
    frames = corpus.items["frames"]
    twins = np.flatnonzero(twin_of >= 0)
    assert len(twins) > 30
    assert all(sequences[i] == sequences[twin_of[i]][::-1] for i in twins)
    means = frames.mean(axis=1)
    mean_gap = np.linalg.norm(means[twins] - means[twin_of[twins]], axis=-1)
    sequence_gap = np.linalg.norm(frames[twins] - frames[twin_of[twins]], axis=-1).mean(axis=1)
    assert np.median(mean_gap) < 0.5 and np.median(sequence_gap) > 1.2
    # Unrelated videos of the same topic differ in their means too: the twins' gap is the noise's.
    same_topic = [(i, j) for i in range(400) for j in range(i + 1, 400) if corpus.classes[i] == corpus.classes[j]]
    others = [(i, j) for i, j in same_topic if twin_of[j] != i and twin_of[i] != j][:200]
    other_gap = np.array([np.linalg.norm(means[i] - means[j]) for i, j in others])
    assert np.median(mean_gap) < 0.6 * np.median(other_gap)


def test_order_queries_grade_the_order():
    corpus = generate(600, seed=2)
    _, sequences, _, _ = plan_videos(600, seed=2)
    order = corpus.queries.filter(pl.col("kind") == "order")
    assert order.height > 50
    flipped = 0
    for query, target in order.select("query", "target").iter_rows():
        grades = dict(corpus.qrels.filter(pl.col("query") == query).select("item", "grade").iter_rows())
        for item, grade in grades.items():
            if item != target and set(sequences[item]) == set(sequences[target]):
                flipped += grade == 1  # a reversed twin has both events in the wrong order
    assert flipped > 20


def test_generator_rejects_bad_knobs():
    with pytest.raises(DataError, match="min_frames"):
        generate(10, frames=3)
    with pytest.raises(DataError, match="query_mix"):
        generate(10, query_mix=(0, 0, 0, 0))


# ---- the MSR-VTT reader --------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


CAPTIONS = """key,vid_key,video_id,sentence
ret0,msr1,video1,"a man cooks, then eats"
ret1,msr2,video2,a dog runs in a park
ret2,msr1,video1,someone is eating pasta
ret3,msr3,video3,a car drives down a road
"""


def test_msrvtt_reads_captions_and_synthesises_features(tmp_path):
    corpus = read_msrvtt(_write(tmp_path / "c.csv", CAPTIONS), frames=8, feature_dim=16)
    assert corpus.item_ids == ["video1", "video2", "video3"]
    assert corpus.items["frames"].shape == (3, 8, 16) and corpus.items["frames"].dtype == np.float32
    assert corpus.items["frame_counts"].dtype == np.int64
    assert corpus.texts["item"].to_list() == [0, 1, 0, 2]
    assert corpus.texts["text"][0] == "a man cooks, then eats" and set(corpus.texts["field"]) == {"caption"}
    assert corpus.queries is None and corpus.qrels is None and corpus.info["features"] == SYNTHESISED
    again = read_msrvtt(str(tmp_path / "c.csv"), frames=8, feature_dim=16)
    assert np.array_equal(corpus.items["frames"], again.items["frames"])
    two = read_msrvtt(_write(tmp_path / "two.csv", "video_id,sentence\nv1,hello world\nv1,bye\n"))
    assert two.item_ids == ["v1"] and two.texts.height == 2


def test_msrvtt_reads_features_dir(tmp_path):
    features = tmp_path / "features"
    features.mkdir()
    rng = np.random.default_rng(0)
    np.save(features / "video1.npy", rng.standard_normal((20, 5)))
    np.save(features / "video2.npy", rng.standard_normal((3, 5)))
    np.save(features / "video3.npy", rng.standard_normal((8, 5)).astype(np.float32))
    corpus = read_msrvtt(_write(tmp_path / "c.csv", CAPTIONS), features_dir=str(features), frames=8)
    assert corpus.items["frames"].shape == (3, 8, 5)
    assert corpus.items["frame_counts"].tolist() == [8, 3, 8]
    assert not corpus.items["frames"][1, 3:].any()
    second = np.load(features / "video2.npy")
    assert np.allclose(corpus.items["frames"][1, :3], second)
    assert "synthesised" not in corpus.info["features"]
    np.save(features / "video3.npy", rng.standard_normal((8, 6)))
    with pytest.raises(DataError, match=r"video3\.npy: 6 features per frame, but video1\.npy has 5"):
        read_msrvtt(str(tmp_path / "c.csv"), features_dir=str(features))
    (features / "video3.npy").unlink()
    with pytest.raises(
        DataError, match=r"video 'video3' has captions but no features: expected the file .*video3\.npy"
    ):
        read_msrvtt(str(tmp_path / "c.csv"), features_dir=str(features))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("video_id,sentence\nv1,hello\nv2,\n", r"line 3: empty sentence for video 'v2'"),
        ("video_id,sentence\nv1,hello\nv2,   \n", r"line 3: empty sentence"),
        ("key,video_id,caption\nr0,v1,hello\n", r"line 1: missing column\(s\) \['sentence'\].*required"),
        ("video_id,sentence\n,hello\n", r"line 2: empty video_id"),
    ],
)
def test_msrvtt_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_msrvtt(_write(tmp_path / "c.csv", text))


def test_msrvtt_videos_file(tmp_path):
    videos = _write(tmp_path / "videos.csv", "video_id\nvideo1\nvideo2\nvideo3\nvideo4\n")
    corpus = read_msrvtt(_write(tmp_path / "c.csv", CAPTIONS), videos_file=videos)
    assert len(corpus.item_ids) == 3 and corpus.info["videos_without_captions"] == 1
    _write(tmp_path / "v.csv", "video_id\nvideo1\nvideo2\n")
    with pytest.raises(DataError, match=r"line 5: caption for video 'video3', which is not in videos_file"):
        read_msrvtt(str(tmp_path / "c.csv"), videos_file=str(tmp_path / "v.csv"))
    with pytest.raises(DataError, match="not found"):
        read_msrvtt(str(tmp_path / "missing.csv"))


def test_msrvtt_real_test_split():
    path = MSRVTT / "MSRVTT_JSFUSION_test.csv"
    if not path.exists():
        pytest.skip("../shared/data/msrvtt is absent (private fixture)")
    corpus = read_msrvtt(str(path))
    assert len(corpus.item_ids) == 1000 and corpus.texts.height == 1000
    assert corpus.info["features"] == SYNTHESISED and corpus.items["frames"].shape == (1000, 16, 64)
    with pytest.raises(DataError, match=r"line 2: caption for video 'video9770', which is not in videos_file"):
        read_msrvtt(str(path), videos_file=str(MSRVTT / "MSRVTT_train.9k.csv"))


# ---- BM25 ----------------------------------------------------------------------------------------------------

DOCS = [
    "a chef chops onions in the kitchen",
    "skateboard tricks at the skatepark, kickflip and grind",
    "garden tour: planting tomatoes and watering roses",
    "the chef boils pasta and chops garlic",
    "soccer match highlights with a late goal",
    "guitar lesson, chords for beginners",
    "baking bread: knead the dough, bake in the oven",
    "surfing big waves at sunrise",
    "kitchen tour and a knife review for the chef",
    "grind rails and ollie tutorial",
]


def test_tokenize():
    assert tokenize("The Chef's KNIFE, then a 3D-printer!") == ["chef", "s", "knife", "3d", "printer"]
    assert tokenize_all(["a b", "Cat"]) == [["b"], ["cat"]]


def test_bm25_equals_rank_bm25():
    from rank_bm25 import BM25Okapi

    queries = ["chef chops garlic", "grind skatepark", "bread oven chef", "sunrise waves surfing", "zebra chef"]
    reference = BM25Okapi(tokenize_all(DOCS))
    search = BM25Search(method="atire", idf_method="robertson").index(DOCS)
    dense = search.scores(queries)
    for q, query in enumerate(queries):
        assert np.allclose(dense[q], reference.get_scores(tokenize(query)), atol=1e-5)
    scores, ids = search.search(queries, k=4)
    for q, query in enumerate(queries):
        expected = reference.get_scores(tokenize(query))
        order = [int(i) for i in np.argsort(-expected, kind="stable") if expected[i] > 0][:4]
        got = [int(i) for i in ids[q] if i >= 0]
        assert got == order and np.allclose(scores[q, : len(got)], expected[order], atol=1e-5)


def test_bm25_search_pads_and_rejects_empty_queries():
    search = BM25Search().index(DOCS)
    scores, ids = search.search(["surfing", "zebra"], k=3)
    assert ids.dtype == np.int64 and ids.shape == scores.shape == (2, 3)
    assert ids[0].tolist() == [7, -1, -1] and scores[0, 0] > 0 and scores[0, 1] == 0
    assert ids[1].tolist() == [-1, -1, -1]
    _, many = search.search(["chef"], k=20)
    assert many.shape == (1, 20) and sorted(many[0][many[0] >= 0]) == [0, 3, 8]
    with pytest.raises(ValueError, match="no words after tokenisation"):
        search.scores(["the and of"])


# ---- fusion --------------------------------------------------------------------------------------------------


def _random_ranking(rng, queries: int, depth: int, catalogue: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.stack([rng.choice(catalogue, depth, replace=False) for _ in range(queries)]).astype(np.int64)
    scores = -np.sort(-rng.normal(size=(queries, depth)) * 3, axis=1)
    short = rng.random(queries) < 0.3  # some lists are shorter: -1 ids past their end
    ids[short, depth // 2 :] = -1
    scores[short, depth // 2 :] = 0
    return scores, ids


def _run(ranking):
    from ranx import Run

    scores, ids = ranking
    return Run(
        {
            f"q{q}": {f"d{i}": float(s) for s, i in zip(scores[q], ids[q], strict=True) if i >= 0}
            for q in range(len(ids))
        }
    )


def _assert_matches(fused, reference, top):
    scores, ids = fused
    for q in range(len(ids)):
        expected = reference[f"q{q}"]
        got = [(int(i), float(s)) for i, s in zip(ids[q], scores[q], strict=True) if i >= 0]
        assert len(got) == min(top, len(expected))
        for i, s in got:
            assert abs(expected[f"d{i}"] - s) < 1e-6
        # best first, ties by the lower id; and nothing left out scores higher than the last kept
        assert all((a[1] > b[1]) or (a[1] == b[1] and a[0] < b[0]) for a, b in itertools.pairwise(got))
        kept = {f"d{i}" for i, _ in got}
        assert all(v <= got[-1][1] + 1e-9 for k, v in expected.items() if k not in kept)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fusion_equals_ranx(seed):
    from ranx import fuse

    rng = np.random.default_rng(seed)
    a, b = _random_ranking(rng, 20, 15, 40), _random_ranking(rng, 20, 10, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety warnings inside ranx
        rrf = fuse([_run(a), _run(b)], method="rrf", params={"k": 60}).to_dict()
        wsum = fuse([_run(a), _run(b)], norm="min-max", method="wsum", params={"weights": [0.3, 0.7]}).to_dict()
        rrf10 = fuse([_run(a), _run(b)], method="rrf", params={"k": 10}).to_dict()
    _assert_matches(reciprocal_rank_fusion([a, b], k=60, top=8), rrf, 8)
    _assert_matches(reciprocal_rank_fusion([a, b], k=10, top=100), rrf10, 100)
    _assert_matches(weighted_score_fusion([a, b], weights=[0.3, 0.7], top=8), wsum, 8)


def test_fusion_edge_cases():
    a = (np.array([[3.0, 2.0, 0.0]]), np.array([[5, 7, -1]]))
    b = (np.array([[9.0, 1.0, 0.5]]), np.array([[-1, 7, 2]]))  # a -1 anywhere takes no rank
    scores, ids = reciprocal_rank_fusion([a, b], k=1, top=4)
    assert ids.tolist() == [[7, 5, 2, -1]]
    assert np.allclose(scores[0, :3], [1 / 3 + 1 / 2, 1 / 2, 1 / 3]) and scores[0, 3] == 0
    weighted, _ = reciprocal_rank_fusion([a, b], k=1, top=4, weights=[2.0, 0.0])
    assert np.allclose(weighted[0, :2], [1.0, 2 / 3])
    tie = (np.array([[1.0, 1.0]]), np.array([[9, 4]]))
    assert weighted_score_fusion([tie], top=2)[1].tolist() == [[4, 9]]  # equal scores: the lower id first
    assert weighted_score_fusion([tie], top=2)[0].tolist() == [[1.0, 1.0]]  # all-equal list: each gets 1
    z_scores, z_ids = weighted_score_fusion([a, b], weights=[1.0, 1.0], top=3, normalise="zscore")
    # z: a {5: 1, 7: -1}, b {7: 1, 2: -1}; missing = the list's lowest z (-1)
    assert z_ids.tolist() == [[5, 7, 2]] and np.allclose(z_scores, [[0, 0, -2]])
    empty = (np.zeros((2, 3)), np.full((2, 3), -1))
    assert (reciprocal_rank_fusion([empty], top=2)[1] == -1).all()
    with pytest.raises(ValueError, match="weight"):
        weighted_score_fusion([a, b], weights=[1.0])


def test_fusion_is_fast():
    rng = np.random.default_rng(0)
    lists = [_random_ranking(rng, 1000, 100, 5000) for _ in range(2)]
    start = time.perf_counter()
    _, ids = reciprocal_rank_fusion(lists, top=100)
    weighted_score_fusion(lists, weights=[0.5, 0.5], top=100)
    assert time.perf_counter() - start < 0.5 and ids.shape == (1000, 100)
