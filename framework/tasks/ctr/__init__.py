"""Click-through-rate prediction (ad click): a pointwise model scores rows of a click log.

recipe   run_case: tabular data -> ranking model -> CTRTask -> fit/test -> scoring latency
module   CTRTask, the LightningModule (binary cross-entropy on logits, eval-suite metrics on probabilities,
         recalibrated after negative downsampling)
config   the kind's dataset key `negative_rate` and its range check
"""
