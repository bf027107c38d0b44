"""Session-based item embeddings (similar listings): listings clicked together end up close.

config      the config node this kind owns (skipgram) and the kind's dataset keys, with their checks
recipe      run_case: sessions -> pairs -> model (skip-gram, or a baseline without training) -> evaluation -> serving
module      the skip-gram's LightningModule: negatives (random and same-market) drawn per batch
evaluation  ranks of the booked listing within the market and of the next click among all listings
"""
