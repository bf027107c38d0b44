"""Link prediction (people you may know): predict the friendships that form next from the graph as it is.

config      the config nodes this kind owns (candidates, link_training) and their checks
recipe      run_case: graph -> model (heuristic: no training; GNN: full-batch training) -> evaluation -> serving
module      the GNN's LightningModule: edges hidden from message passing each step are its positives
evaluation  pair metrics (AUC, AP, Hits@K) and per-user top-k lists over the candidate set
serving     per-user latency: candidate generation + scoring + top k
"""
