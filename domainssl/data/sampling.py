"""Seeded sampling that depends only on counts and a seed, never on the weights: label subsets,
batch order and flip draws, so SSL init and random init see the same frames in the same order.

Examples:
    >>> subset_indices(10, 0.3, seed=0).tolist()  # doctest: +SKIP
    [1, 5, 8]
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def subset_indices(n: int, fraction: float, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of a reproducible ``fraction`` of ``n`` items (at least 1; per class when ``labels``).

    The subset depends only on (``n``, ``fraction``, ``seed``, ``labels``), never on the weights, so
    SSL init and random init see the same frames. Subsets are nested: for one seed, the 1 % subset
    lies inside the 10 % subset (each is a prefix of one seeded permutation).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label fraction {fraction} must be in (0, 1]")
    if labels is None:
        order = np.random.default_rng([seed, 0x5B5E7]).permutation(n)
        return np.sort(order[: max(1, int(round(fraction * n)))])
    picks = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        order = np.random.default_rng([seed, 0x5B5E7, int(c)]).permutation(members)
        picks.append(order[: max(1, int(round(fraction * len(members))))])
    return np.sort(np.concatenate(picks))

def batch_schedule(n: int, batch_size: int, steps: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(step, indices)`` for steps 0..steps-1: seeded epoch permutations, full batches only.

    Depends only on (``n``, ``batch_size``, ``steps``, ``seed``), so paired runs see the same batches.
    A subset smaller than ``batch_size`` is one (shuffled) batch per step.
    """
    size = min(batch_size, n)
    per_epoch = n // size
    step = 0
    epoch = 0
    while step < steps:
        order = np.random.default_rng([seed, 0xBA7C4, epoch]).permutation(n)
        for b in range(per_epoch):
            if step >= steps:
                return
            yield step, order[b * size : (b + 1) * size]
            step += 1
        epoch += 1

def flip_draws(seed: int, step: int, count: int, p: float = 0.5) -> np.ndarray:
    """Boolean (count,) horizontal-flip draws of one step (seeded by ``seed`` and ``step`` only)."""
    return np.random.default_rng([seed, 0xF11B, step]).random(count) < p
