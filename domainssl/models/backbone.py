"""Backbone factory: any timm model as a feature extractor (``num_classes=0``)."""

from __future__ import annotations

import timm
import torch.nn as nn


def create_backbone(name: str, in_chans: int, spatial_dims: int = 2, **kwargs) -> nn.Module:
    """Build a randomly initialised backbone whose forward returns pooled features (N x F).

    The feature size is read from the model: ``backbone.num_features``. Weights are never downloaded.

    Args:
        name: a timm model name (``resnet18``, ``convnext_atto``, ...).
        in_chans: input channels (1 for depth, k for 2.5D slabs).
        spatial_dims: 2 for timm images; 3 for volumes (MONAI networks).
        **kwargs: passed to ``timm.create_model``.

    Examples:
        >>> net = create_backbone("resnet18", in_chans=1)
        >>> net.num_features
        512
    """
    if spatial_dims == 3:
        from domainssl.models.backbone3d import create_backbone_3d

        return create_backbone_3d(name, in_chans, **kwargs)
    if spatial_dims != 2:
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    if not timm.is_model(name):
        close = timm.list_models(f"*{name}*")[:8]
        raise ValueError(f"backbone {name!r} is not a timm model; similar names: {close or 'none'}")
    return timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans, **kwargs)
