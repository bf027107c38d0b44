"""Two-stage retrieval -> ranking (video recommendation): stage 1 retrieves K candidates per user through
an item index, stage 2 re-ranks them; evaluated end to end and timed per stage.

config       the config nodes this kind owns (retrieval, index, ranker, ranking) and their checks
recipe       run_case: data -> stage 1 -> index -> candidates -> stage 2 -> evaluation -> serving latency
retrieval    stage 1's LightningModule (loss, negatives, full-ranking evaluation)
ranking      stage 2's LightningModule (re-ranks whole candidate lists)
ranker_features  the ranker's (user, candidate) feature rows, for training and serving alike
rerank_data  stage 2's data: stage 1's candidate lists, labelled
evaluation   scoring ranked lists with an eval suite; stage-1 recall
serving      per-stage latency of one request at a time
report       the console report of a two-stage run
"""
