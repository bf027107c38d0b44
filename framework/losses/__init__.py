"""Losses and negative samplers shared by the kinds that learn embeddings from positive pairs
(two-stage retrieval today; contrastive search and session embeddings next)."""
