"""Multi-task ranking models: forward(categorical [B, F] ids, numeric [B, D]) -> one raw output per head [B, T].

The recipe names the heads (one per reaction: click, like, share, dwell time, ...) and applies the sigmoid
to binary heads; a model only knows how many there are. All share the input layer (`inputs.py`); the
mixture models run their experts as one batched matmul (`experts.py`).
"""
