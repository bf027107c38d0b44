"""Pointwise ranking (CTR) models: forward(categorical [B, F] ids, numeric [B, D]) -> logits [B]."""
