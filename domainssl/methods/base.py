"""The method contract shared by every SSL method.

A method is built from a backbone ``nn.Module`` (never from a name) plus its heads and loss.
``forward(views)`` returns a :class:`MethodOutput`; target/momentum networks are updated only by an
explicit ``update_target(momentum)`` call whose schedule the training loop owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn as nn


@dataclass
class MethodOutput:
    """What one forward pass returns.

    Attributes:
        loss: scalar to minimise.
        embedding: N x D projection of the first view (before the predictor), watched by the collapse monitor.
    """

    loss: torch.Tensor
    embedding: torch.Tensor


class SSLMethod(nn.Module):
    """Base class of SSL methods.

    Class attributes:
        name: registry name (``--method NAME``).
        num_views: views per sample the data pipeline must produce.
        Options: dataclass of ``method.*`` keys.
        base_lr: peak learning rate at batch 256 (scaled linearly by the loop).
        default_optimizer / default_weight_decay: used when the config leaves them unset. The defaults,
            AdamW with base lr 2e-3 and wd 0.05 (BYOL's here), suit the short runs this toolkit mostly
            does: with them MoCo v2 and SimSiam gained far more than with their papers' SGD
            (``docs/results.md``). SimCLR keeps its paper's LARS.

    Instance attributes:
        encoder: the backbone that gets exported (online / query encoder).
        momentum_start: first value of the target-EMA schedule (cosine to 1.0), or None without a target.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""  # one line for `domainssl info`
    num_views: ClassVar[int] = 2
    Options: ClassVar[type]
    base_lr: ClassVar[float] = 2e-3
    default_optimizer: ClassVar[str] = "adamw"
    default_weight_decay: ClassVar[float] = 0.05

    encoder: nn.Module
    momentum_start: float | None = None

    def forward(self, views: list[torch.Tensor]) -> MethodOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """EMA-update target networks (no-op for methods without one)."""

    def param_groups(self) -> list[dict[str, Any]]:
        """Optimiser parameter groups; a group with ``fixed_lr: True`` is not decayed by the schedule."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]
