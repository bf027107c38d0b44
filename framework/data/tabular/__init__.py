"""Tabular data (the ctr kind): a raw table of label + categorical + numeric columns, its encoding
(vocabularies or hashing, numeric transforms) into a FeatureSpec and arrays, and the data module."""
