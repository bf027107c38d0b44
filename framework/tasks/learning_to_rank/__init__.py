"""The learning_to_rank kind: candidate lists per query (a user's events), ranked by a network trained
with a point-, pair- or listwise loss, or by gradient-boosted trees (LightGBM)."""
