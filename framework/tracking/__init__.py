"""Run records (run.json), experiment trackers (W&B, CSV) and the terminal summary."""
