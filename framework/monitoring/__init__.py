"""Monitoring and retraining: replay a time-ordered log in windows and compare retraining strategies.

windows     the log's rows cut into equal, time-ordered windows (e.g. a day each), encoded on demand
detectors   drift measures: PSI, KS (scipy), and river's ADWIN / Page-Hinkley on a loss stream
strategies  "retrain now?" per strategy: never, scheduled, performance (NCE/AUC drop), drift
replay      train on the first windows, then per window: predict, score when labels arrive, decide, retrain
report      per-window quality plot, the run's summary numbers, and a multirun's comparison table

`python run.py case=ad_click retraining=<strategy>` runs it (conf/retraining/); `retraining: null`, the
default, leaves a run as it was.
"""
