"""Retrieval (candidate generation) models: user and item encoders whose inner product scores a pair.

Every model has `user_vectors(categorical, numeric, leave_out=None) -> [B, E]` and
`item_vectors(categorical, numeric) -> [B, E]`
over the feature rows of `InteractionSpec` (the first categorical field is the id). The training task
(loss, negatives) and the index that searches the item vectors are separate objects.
"""
