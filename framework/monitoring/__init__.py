"""Monitoring and retraining: replay a time-ordered log in windows and compare retraining strategies.

windows           the click log's rows cut into equal, time-ordered windows (e.g. a day each)
detectors         drift measures: PSI, KS (scipy), and river's ADWIN / Page-Hinkley on a loss stream
strategies        "retrain now?" per strategy: never, scheduled, performance (NCE/AUC/recall drop), drift;
                  after an alarm, the follow-up retrain on windows after the change
replay            ad click (ctr): train on the first windows, then per window: predict, score when labels
                  arrive, decide, retrain
retrieval_replay  video (two_stage): the same loop for stage 1 + its index, scored by recall@K per window
training          one model of a replay: best epoch on its hold-out, kept in memory
report            per-window quality plot, the run's summary numbers, and a multirun's comparison table
recipe            the replay a run takes instead of its kind's recipe

`python run.py case=ad_click retraining=<strategy>` (or case=video_recommendation) runs it
(conf/retraining/); `retraining: null`, the default, leaves a run as it was.
"""
