"""What every trained stage shares: the fit/test loop (checkpoints, resume, trackers), the callbacks,
and the LightningModule helpers (metric collections per split, loss logging)."""
