"""Serving-side stages: latency measurement, ANN indexes, two-stage retrieval -> ranking."""
