"""MLP heads shared by the SSL methods (projectors and predictors)."""

from __future__ import annotations

import torch.nn as nn


class MLP(nn.Sequential):
    """Projector / predictor: ``num_layers`` Linear layers, Linear → BN → ReLU between them.

    A Linear followed by BatchNorm has no bias (the BN shift replaces it), as in the SimSiam and
    MoCo v3 reference code. The paper heads, with ``F`` the backbone feature size:

    ========  =====================================================================
    BYOL      ``MLP(F, 4096, 256)`` projector, ``MLP(256, 4096, 256)`` predictor
    SimSiam   ``MLP(F, 2048, 2048, num_layers=3, bn_last=True, bn_last_affine=False)``
              projector, ``MLP(2048, 512, 2048)`` predictor
    MoCo v2   ``MLP(F, F, 128, hidden_bn=False)``
    MoCo v3   ``MLP(F, 4096, 256, bn_last=True, bn_last_affine=False)`` projector,
              ``MLP(256, 4096, 256)`` predictor
    SimCLR    ``MLP(F, F, 128)``
    ========  =====================================================================

    Args:
        in_dim: input features.
        hidden_dim: width of every hidden layer.
        out_dim: output features.
        num_layers: Linear layers (>= 1); 1 means a single Linear (+ optional BN).
        bn_last: add BatchNorm1d after the last Linear.
        bn_last_affine: whether that last BN learns a scale and shift (False in SimSiam / MoCo v3).
        hidden_bn: BatchNorm1d after each hidden Linear (False reproduces the MoCo v2 head).

    Shape:
        input N x in_dim → output N x out_dim (float).

    Examples:
        >>> import torch
        >>> head = MLP(512, 1024, 256)
        >>> head(torch.randn(8, 512)).shape
        torch.Size([8, 256])
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int,
        out_dim: int,
        num_layers: int = 2,
        bn_last: bool = False,
        bn_last_affine: bool = True,
        hidden_bn: bool = True,
    ) -> None:
        if num_layers < 1:
            raise ValueError(f"MLP: num_layers must be >= 1, got {num_layers}")
        layers: list[nn.Module] = []
        dim = in_dim
        for _ in range(num_layers - 1):
            layers.append(nn.Linear(dim, hidden_dim, bias=not hidden_bn))
            if hidden_bn:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.ReLU(inplace=True))
            dim = hidden_dim
        layers.append(nn.Linear(dim, out_dim, bias=not bn_last))
        if bn_last:
            layers.append(nn.BatchNorm1d(out_dim, affine=bn_last_affine))
        super().__init__(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim
