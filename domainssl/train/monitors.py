"""Training monitors: representation collapse and throughput."""

from __future__ import annotations

import math
import time
import warnings

import torch
import torch.nn.functional as F


def collapse_std(z: torch.Tensor) -> torch.Tensor:
    """Std over the batch of l2-normalised embeddings, averaged over channels, times sqrt(D).

    ≈ 1 for a healthy spread, → 0 on collapse (SimSiam, Fig. 2). Returns a 0-dim tensor (no host sync).

    Args:
        z: N x D embeddings.
    """
    z = F.normalize(z.detach().float(), dim=1)  # N x D
    return z.std(dim=0).mean() * math.sqrt(z.shape[1])


class CollapseMonitor:
    """Warns once when the collapse metric stays below ``threshold`` for ``patience`` logged steps."""

    def __init__(self, threshold: float = 0.1, patience: int = 3) -> None:
        self.threshold = threshold
        self.patience = patience
        self.below = 0
        self.warned = False

    def update(self, value: float, step: int) -> bool:
        """Record one logged value; returns True while the run looks collapsed."""
        self.below = self.below + 1 if value < self.threshold else 0
        collapsed = self.below >= self.patience
        if collapsed and not self.warned:
            warnings.warn(
                f"step {step}: embedding std x sqrt(d) = {value:.3f} has stayed below {self.threshold} for "
                f"{self.below} logged steps: the representation is collapsing. Try a lower learning rate, "
                "a larger batch, stronger views, or check that the method's stop-gradient/target is intact.",
                RuntimeWarning,
                stacklevel=2,
            )
            self.warned = True
        return collapsed


class Throughput:
    """Images per second between two logging steps."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.images = 0

    def add(self, images: int) -> None:
        self.images += images

    def rate(self) -> float:
        """Images/s since the last call; resets the window."""
        now = time.perf_counter()
        rate = self.images / max(now - self.start, 1e-9)
        self.start, self.images = now, 0
        return rate
