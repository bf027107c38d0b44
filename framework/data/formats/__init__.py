"""Readers of real public data formats; each returns a RawTable (or the case's own raw type)."""
