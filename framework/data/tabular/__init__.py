"""Tabular data (the ctr kind): a raw table of label + categorical + numeric columns, its encoding
(vocabularies or hashing, numeric transforms) into a FeatureSpec and arrays, and the data module; files
larger than memory are read and encoded in chunks (`out_of_core`)."""
