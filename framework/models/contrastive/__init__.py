"""Encoders of the contrastive retrieval kind: images (visual search), texts and videos (video search)."""
