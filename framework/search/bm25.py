"""BM25 over one document per item (e.g. a video's title + tags + description), wrapping bm25s.

    search = BM25Search()                      # k1 1.5, b 0.75
    search.index(["cooking pasta at home", "street skateboard tricks", ...])
    scores, ids = search.search(["pasta recipe"], k=10)   # [Q, k] each; ids -1 past the matches
    dense = search.scores(["pasta recipe"])                # [Q, N], for fusion on small catalogues

Documents and queries go through `framework.search.tokens.tokenize`. A document that shares no word with
the query scores 0 and is not returned by `search` (it did not match): the row is padded with id -1 and
score 0. A query with no words left after tokenisation (empty, or only stopwords/punctuation) raises a
ValueError naming it: it would silently return nothing.

Choosing `method` (bm25s' variants; `idf_method` defaults to the method's own):

- "robertson" (default): IDF log((N - df + 0.5) / (df + 0.5)) clamped at 0, TF tf / (tf + k1 (1 - b + b L/avgL)).
- "atire": IDF log(N / df), TF (k1 + 1) tf / (tf + k1 (...)) -- a constant (k1 + 1) times robertson's TF, so
  the same ranking up to the IDF.
- "lucene", "bm25l", "bm25+": as in bm25s.

To get rank-bm25's `BM25Okapi` scores (the usual reference), use `method="atire", idf_method="robertson"`:
equal within 1e-5 on the same tokens, except that rank-bm25 floors a negative IDF (a word in more than half
the documents) at 0.25 x the mean IDF where bm25s clamps it to 0.
"""

from __future__ import annotations

import numpy as np

from framework.search.tokens import tokenize_all


class BM25Search:
    """BM25 scores of queries against an indexed list of documents (document i = item i)."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "robertson", idf_method: str | None = None):
        self.k1, self.b, self.method, self.idf_method = k1, b, method, idf_method
        self._model = None
        self.n_documents = 0

    def index(self, documents: list[str]) -> BM25Search:
        """Index `documents` (raw text; document i is item i). Returns self."""
        import bm25s

        if len(documents) == 0:
            raise ValueError("BM25Search.index: no documents.")
        model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method, idf_method=self.idf_method)
        # An empty document is fine: bm25s keeps a "" token for it, so it simply never matches.
        model.index(tokenize_all(documents), show_progress=False)
        self._model, self.n_documents = model, len(documents)
        return self

    def _query_tokens(self, queries: list[str]) -> list[list[str]]:
        if self._model is None:
            raise ValueError("BM25Search: call index(documents) before searching.")
        tokens = tokenize_all(queries)
        for i, words in enumerate(tokens):
            if not words:
                raise ValueError(
                    f"BM25Search: query {i} ({queries[i]!r}) has no words after tokenisation "
                    f"(empty, or only stopwords/punctuation)."
                )
        return tokens

    def scores(self, queries: list[str]) -> np.ndarray:
        """Dense BM25 scores, float32 [Q, N] (0 where a document shares no query word)."""
        tokens = self._query_tokens(queries)
        out = np.zeros((len(queries), self.n_documents), dtype=np.float32)
        vocab = self._model.vocab_dict
        for i, words in enumerate(tokens):
            known = [w for w in words if w in vocab]  # unknown words match nothing
            if known:
                out[i] = self._model.get_scores(known)
        return out

    def search(self, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top `k` documents per query: (scores float32 [Q, k], ids int64 [Q, k]), best first, ties by
        lower id; ids -1 (score 0) past the documents that matched."""
        if k < 1:
            raise ValueError(f"BM25Search.search: k must be >= 1, got {k}.")
        return top_k(self.scores(queries), k)


def top_k(dense: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` largest positive entries: (scores [Q, k], ids int64 [Q, k]); ties by lower id; -1/0
    padding where fewer than k entries are > 0."""
    q, n = dense.shape
    kk = min(k, n)
    # A stable sort of -score: equal scores keep the lower id first.
    order = np.argsort(-dense, axis=1, kind="stable")[:, :kk]
    scores = np.take_along_axis(dense, order, axis=1)
    ids = order.astype(np.int64)
    miss = scores <= 0
    ids[miss], scores[miss] = -1, 0
    out_scores = np.zeros((q, k), dtype=dense.dtype)
    out_ids = np.full((q, k), -1, dtype=np.int64)
    out_scores[:, :kk], out_ids[:, :kk] = scores, ids
    return out_scores, out_ids
