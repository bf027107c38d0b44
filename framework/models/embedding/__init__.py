"""Item-to-item models of session data: skip-gram listing embeddings, and baselines that need no training.

Every model gives a scorer of the training clicks (`model.scorer(train_clicks)`) with `scores(queries)`:
a dense [len(queries), n_items] block of similarities, so evaluation treats embeddings and baselines alike.
"""
