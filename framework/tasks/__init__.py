"""LightningModules by task kind: the loss, the optimisation and the metric logging around a model."""
