"""Video search's test-time evaluation and serving: two channels and their fusion.

    visual   the text encoder embeds the query, the video encoder every catalogue video: cosine scores
    text     BM25 over each video's text (titles, tags, descriptions; MSR-VTT: its other captions)
    fused    the top `search.depth` of each channel fused: reciprocal rank fusion (sum of w / (rrf_k + rank))
             or weighted score fusion (sum of w x min-max normalised score); `search.weights` = (visual, text)

Every channel is scored with the eval suite on the test queries (`test/visual/*`, `test/text/*`,
`test/fused/*`); `test/search/*` repeats the channel the product serves (`search.channel`), the axis of
the channel preset. When the source labels its queries by kind (the embedded generator: metadata words,
caption words, mixed, event order), the monitored metric per kind too: `test/<channel>/<kind>/ndcg@10`.
A video beyond a channel's lists has no score there: it ranks after every listed one.

Time order (`test/visual/time_order`, the "Test of Time" probe of Bagad et al. 2023): for every test query
that states an order (it has one of `contrastive.order_words`: "kitchen slices then simmers") and each of its
fully relevant videos, does the video score above itself played backwards? The share of such pairs (a tie
counts half): 0.5 for an encoder blind to order (a bag of frames ties exactly), 1.0 for one that reads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torchmetrics import Metric

from framework.data.retrieval.datamodule import RetrievalDataModule
from framework.models.contrastive.text_video import reverse_frames
from framework.search.bm25 import BM25Search
from framework.search.fusion import reciprocal_rank_fusion, weighted_score_fusion
from framework.search.tokens import tokenize
from framework.serving.latency import request_latency
from framework.tasks.contrastive_retrieval.evaluation import evaluate_scores

CHANNELS = ("visual", "text", "fused")


def _top(scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of each row's top `depth`, best first (ties: lower id); id -1 for -inf (not found)."""
    depth = min(depth, scores.shape[1])
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    top = np.take_along_axis(scores, ids, 1)
    return np.where(np.isfinite(top), top, 0.0), np.where(np.isfinite(top), ids, -1)


def _dense(top: tuple[np.ndarray, np.ndarray], n_items: int) -> np.ndarray:
    """A [Q, N] score matrix from top lists: listed items keep their order, the others rank after them."""
    ids = top[1]
    out = np.full((len(ids), n_items), -np.inf, np.float64)
    rank_score = -np.arange(ids.shape[1], dtype=np.float64)[None, :].repeat(len(ids), 0)  # order, not value
    rows = np.repeat(np.arange(len(ids)), ids.shape[1]).reshape(ids.shape)
    valid = ids >= 0
    out[rows[valid], ids[valid]] = rank_score[valid]
    return out


def fuse(visual: np.ndarray, text: np.ndarray, search: DictConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fused top lists of two [Q, N] score matrices (each channel cut to its top `depth` first; a video BM25
    does not match (score 0) is not in the text channel's list)."""
    depth = int(search.depth)
    weights = [float(w) for w in search.weights]
    rankings = [_top(visual, depth), _top(np.where(text > 0, text, -np.inf), depth)]
    if str(search.fusion) == "rrf":
        return reciprocal_rank_fusion(rankings, k=int(search.rrf_k), top=depth, weights=weights)
    return weighted_score_fusion(rankings, weights=weights, top=depth)


def text_scores(documents: list[str], queries: list[str], search: DictConfig) -> np.ndarray:
    """BM25 scores [Q, N]; 0 (no match) for a query of stopwords only, and everywhere when no video has text
    to index (MSR-VTT with one caption per video: the text channel then finds nothing, and fusion = visual)."""
    out = np.zeros((len(queries), len(documents)), np.float64)
    if not any(tokenize(d) for d in documents):
        return out
    bm25 = BM25Search(k1=float(search.bm25_k1), b=float(search.bm25_b)).index(documents)
    worded = [i for i, q in enumerate(queries) if tokenize(q)]
    if worded:
        out[worded] = bm25.scores([queries[i] for i in worded])
    return out


def channel_scores(
    model: torch.nn.Module, data: RetrievalDataModule, part: str, search: DictConfig
) -> dict[str, np.ndarray]:
    tokens = torch.from_numpy(data.array(part, "query_tokens"))
    frames = torch.from_numpy(data.array(part, "frames"))
    counts = torch.from_numpy(data.array(part, "counts"))
    visual = (model.texts(tokens) @ model.videos(frames, counts).T).double().numpy()
    text = text_scores(data.texts(part, "doc"), data.texts(part, "query"), search)
    n = visual.shape[1]
    text_only = _dense(_top(np.where(text > 0, text, -np.inf), int(search.depth)), n)  # no match: no rank
    return {"visual": visual, "text": text_only, "fused": _dense(fuse(visual, text, search), n)}


def time_order(
    model: torch.nn.Module, data: RetrievalDataModule, words: list[str], visual: np.ndarray
) -> tuple[float, int] | None:
    """(share of (order query, fully relevant video) pairs where the video beats itself reversed, pairs);
    None when no test query states an order. `visual`: the visual channel's test scores [Q, N] (forward)."""
    tokens = torch.from_numpy(data.array("test", "query_tokens"))
    ordered = torch.isin(tokens.long(), torch.tensor(data.token_ids(words), dtype=torch.long)).any(1)
    gains = torch.from_numpy(data.array("test", "gains"))[ordered]
    if not bool(ordered.any()) or not bool((gains > 0).any()):
        return None
    frames = torch.from_numpy(data.array("test", "frames"))
    counts = torch.from_numpy(data.array("test", "counts"))
    forward = torch.from_numpy(visual)[ordered]
    backward = (model.texts(tokens[ordered]) @ model.videos(reverse_frames(frames, counts), counts).T).double()
    pairs = (gains == gains.max(1, keepdim=True).values) & (gains > 0)
    tie = (forward - backward).abs() <= 1e-5  # summing reversed frames rounds differently: not an order signal
    wins = torch.where(tie, 0.5, (forward > backward).double())
    return float(wins[pairs].mean()), int(pairs.sum())


def evaluate_test(
    model: torch.nn.Module, data: RetrievalDataModule, cfg: DictConfig, metrics: dict[str, Metric]
) -> tuple[dict[str, float], dict[str, Any]]:
    gains = torch.from_numpy(data.array("test", "gains"))
    kinds = data.array("test", "query_kind")
    names = list(data.info.get("query_kinds", []))
    monitor = {str(cfg.eval.monitor): metrics[str(cfg.eval.monitor)]}
    out: dict[str, float] = {}
    channels = channel_scores(model, data, "test", cfg.search)
    for channel, scores in channels.items():
        values = evaluate_scores(metrics, torch.from_numpy(scores), gains, None)
        out.update({f"test/{channel}/{k}": v for k, v in values.items()})
        if channel == str(cfg.search.channel):
            out.update({f"test/search/{k}": v for k, v in values.items()})
        for code, kind in enumerate(names) if len(names) > 1 else ():  # which queries each channel serves
            rows = torch.from_numpy(np.flatnonzero(kinds == code))
            part = evaluate_scores(monitor, torch.from_numpy(scores)[rows], gains[rows], None)
            out.update({f"test/{channel}/{kind}/{k}": v for k, v in part.items()})
    probe = time_order(model, data, list(cfg.contrastive.get("order_words", [])), channels["visual"])
    if probe is not None:
        out["test/visual/time_order"] = probe[0]
    record = {
        "queries": int(gains.shape[0]),
        "catalogue": int(gains.shape[1]),
        "channel": str(cfg.search.channel),
        "fusion": str(cfg.search.fusion),
        "text_documents": data.info.get("text_channel_documents"),
        "videos_without_text": data.info.get("videos_without_text", {}).get("test"),
        "video_features": data.info.get("source_info", {}).get("features", "from the source"),
        "time_order_pairs": None if probe is None else probe[1],
    }
    return out, record


def serving(model: torch.nn.Module, data: RetrievalDataModule, cfg: DictConfig) -> dict[str, Any]:
    """One text query at a time: encode it, score every test video (the catalogue's vectors precomputed),
    BM25 over their texts, fuse; p50/p99 against the budget."""
    search = cfg.search
    frames = torch.from_numpy(data.array("test", "frames"))
    videos = model.videos(frames, torch.from_numpy(data.array("test", "counts")))
    documents = data.texts("test", "doc")
    searchable = any(tokenize(d) for d in documents)
    bm25 = BM25Search(k1=float(search.bm25_k1), b=float(search.bm25_b))
    if searchable:
        bm25.index(documents)
    tokens = torch.from_numpy(data.array("test", "query_tokens"))
    texts = data.texts("test", "query")

    def request(i: int) -> None:
        j = i % len(texts)
        visual = (model.texts(tokens[j : j + 1]) @ videos.T).double().numpy()
        text = bm25.scores([texts[j]]).astype(np.float64) if searchable and tokenize(texts[j]) else 0 * visual
        fuse(visual, text, search)

    what = f"one text query: text encoder, {len(frames)} video vectors, BM25, {search.fusion} fusion (CPU)"
    return request_latency(request, cfg.case, what)
