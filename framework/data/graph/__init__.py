"""Graphs for link prediction: an edge list (read or generated), cleaned, split into the graph the models
see and the held-out friendships they must predict; sparse adjacency helpers shared by models and metrics."""
