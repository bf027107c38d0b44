"""Link prediction models: neighbourhood heuristics (no training), node2vec and a GraphSAGE-style GNN.

Every model gives a scorer for a graph (`model.scorer(structure)`) with `pairs(src, dst)` (a score per
pair) and `users(users)` (a dense [len(users), n] block: every node's score for each user), so the
evaluation, the candidate ranking and the serving path treat heuristics and learned models alike.
"""
