"""Momentum (EMA) target networks: the fused update and its cosine schedule."""

from __future__ import annotations

import math

import torch
import torch.nn as nn


@torch.no_grad()
def update_momentum(online: nn.Module, target: nn.Module, m: float) -> None:
    """EMA-update ``target`` from ``online`` in place: θ_t ← m θ_t + (1 − m) θ_o.

    Parameters are blended with one fused multi-tensor ``lerp``; buffers (BatchNorm running
    statistics, ``num_batches_tracked``) are copied from the online network, since they are
    statistics of the data rather than learnt weights.

    Args:
        online: the network trained by backprop.
        target: a structural copy of ``online`` (same parameter and buffer order).
        m: momentum in [0, 1]; 0 copies the online parameters, 1 freezes the target's.

    Examples:
        >>> online = nn.Linear(4, 4); target = nn.Linear(4, 4)
        >>> update_momentum(online, target, 0.0)
        >>> torch.equal(online.weight, target.weight)
        True
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"update_momentum: m must be in [0, 1], got {m}")
    online_params = list(online.parameters())
    target_params = list(target.parameters())
    online_buffers = list(online.buffers())
    target_buffers = list(target.buffers())
    if len(online_params) != len(target_params) or len(online_buffers) != len(target_buffers):
        raise ValueError(
            "update_momentum: online and target networks differ in structure "
            f"({len(online_params)} vs {len(target_params)} parameters, "
            f"{len(online_buffers)} vs {len(target_buffers)} buffers); build the target with copy.deepcopy(online)"
        )
    if target_params:
        torch._foreach_lerp_(target_params, online_params, 1.0 - m)
    if target_buffers:
        torch._foreach_copy_(target_buffers, online_buffers)


def cosine_schedule(step: int, total_steps: int, start: float, end: float) -> float:
    """Cosine ramp from ``start`` (step 0) to ``end`` (step ``total_steps`` and after).

    BYOL's target momentum: τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2 is
    ``cosine_schedule(k, K, tau_base, 1.0)``.

    Args:
        step: current step (>= 0); values past ``total_steps`` return ``end``.
        total_steps: length of the ramp (>= 1).
        start: value at step 0.
        end: value at ``total_steps``.

    Examples:
        >>> cosine_schedule(0, 100, 0.996, 1.0), cosine_schedule(100, 100, 0.996, 1.0)
        (0.996, 1.0)
    """
    if total_steps < 1:
        raise ValueError(f"cosine_schedule: total_steps must be >= 1, got {total_steps}")
    if step < 0:
        raise ValueError(f"cosine_schedule: step must be >= 0, got {step}")
    progress = min(step, total_steps) / total_steps
    return end - (end - start) * (math.cos(math.pi * progress) + 1) / 2
