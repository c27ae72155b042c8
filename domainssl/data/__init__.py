"""Data: file discovery, datasets, multi-view wrapper and the synthetic worlds."""
