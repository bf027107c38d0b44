"""Text search for the retrieval cases: a tokeniser (`tokens`), BM25 over one document per item (`bm25`,
wrapping bm25s) and the fusion of several rankings into one (`fusion`: reciprocal-rank and weighted-score
fusion), e.g. a BM25 channel over titles/tags/descriptions with a contrastive text/video channel."""
