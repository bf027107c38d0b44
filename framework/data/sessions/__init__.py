"""Click sessions for session-based item embeddings: read or generated, cleaned, split by time."""
