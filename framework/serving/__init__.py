"""Serving building blocks any case may use: vector indexes (exact, faiss Flat / IVF / HNSW), the
retriever (encode the query, search the index, drop what the user has seen), latency measurement."""
