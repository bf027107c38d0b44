"""Anchor-free one-stage detectors in plain torch (no torchvision): the network, its decoding and NMS."""
