"""Seeded generators with planted structure, one per data shape; the embedded default datasets."""
