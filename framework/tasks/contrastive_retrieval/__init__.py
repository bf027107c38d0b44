"""The contrastive retrieval kind: visual search (image -> images) and video search (text -> videos)."""
