"""Metrics torchmetrics lacks, as torchmetrics.Metric classes (they sync across DDP ranks).

Every metric takes (preds, target): predicted probabilities and 0/1 labels. Import them from their
modules (framework.metrics.ctr, ...): this package stays import-free so config checks stay fast.
"""
