"""Augmentations: pure functional ops per family plus thin seeded, albumentations-compatible classes."""
