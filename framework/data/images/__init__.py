"""Image pipeline pieces in plain torch (no torchvision): conversion and training augmentations."""
