"""Interaction data (the two_stage kind): user-item interactions with entity features, their encoding,
the splits (random, leave-last-out, temporal) and the data module."""
