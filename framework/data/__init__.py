"""Data: format readers, synthetic generators, feature encoding and batching."""
