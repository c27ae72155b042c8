"""Tiny backbones for the method tests (fast on 2 CPU cores)."""

from __future__ import annotations

import pytest
import torch.nn as nn


def make_tiny_backbone(in_chans: int = 1, spatial_dims: int = 2, width: int = 16) -> nn.Sequential:
    """Two strided conv + BN + ReLU blocks and global pooling: N x C x (D x) H x W → N x ``width``."""
    conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
    pool = nn.AdaptiveAvgPool2d if spatial_dims == 2 else nn.AdaptiveAvgPool3d
    net = nn.Sequential(
        conv(in_chans, 8, 3, stride=2, padding=1),
        norm(8),
        nn.ReLU(),
        conv(8, width, 3, stride=2, padding=1),
        norm(width),
        nn.ReLU(),
        pool(1),
        nn.Flatten(),
    )
    net.num_features = width
    return net


@pytest.fixture
def tiny_backbone():
    return make_tiny_backbone
