"""Exact stem adaptation between channel counts, shared by the timm and the MONAI loaders.

A 1-channel stem feeding N channels is repeated and divided by N (an image copied into every channel
gives the same activations); an N-channel stem feeding 1 channel is summed over channels. Anything
else raises; a stem is never silently re-initialised.
"""

from __future__ import annotations

from typing import Sequence

import torch


def adapt_stem_weight(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Adapt a stem convolution weight (O x C_src x k...) to ``in_chans`` input channels.

    1 → N: repeat along the input-channel axis and divide by N, so an image replicated into N
    channels gives exactly the 1-channel activations. N → 1: sum over input channels (a gray
    image fed to an N-channel stem as N equal copies). Works for 2D (4-D) and 3D (5-D) weights.

    Raises:
        ValueError: any other change (e.g. 2 → 3): there is no exact mapping; re-train or map by hand.
    """
    src = weight.shape[1]
    if in_chans == src:
        return weight
    if in_chans < 1:
        raise ValueError(f"in_chans must be >= 1, got {in_chans}")
    if src == 1:
        repeats = (1, in_chans) + (1,) * (weight.ndim - 2)
        return weight.repeat(*repeats) / in_chans  # O x N x k...
    if in_chans == 1:
        return weight.sum(dim=1, keepdim=True)  # O x 1 x k...
    raise ValueError(
        f"cannot adapt a {src}-channel stem to {in_chans} channels exactly (only 1 → N and N → 1 are defined); "
        f"load with in_chans={src} and feed {src} channels, or adapt the stem weight yourself"
    )


def adapt_stats(values: Sequence[float], in_chans: int) -> list[float]:
    """Per-channel mean/std for the adapted stem: 1 → N repeats, N → 1 averages."""
    if len(values) == in_chans:
        return list(values)
    if len(values) == 1:
        return list(values) * in_chans
    return [sum(values) / len(values)]
