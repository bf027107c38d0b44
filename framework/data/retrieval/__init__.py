"""Data of the contrastive retrieval kind (visual search, video search): a catalogue, its texts, queries."""
