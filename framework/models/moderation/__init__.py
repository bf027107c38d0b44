"""Harmful-content classifiers: a TF-IDF + logistic regression text baseline (scikit-learn) and a
multimodal network (text, image, author) with early or late fusion and shared or per-class heads."""
