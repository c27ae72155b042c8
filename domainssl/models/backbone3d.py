"""Native 3D backbones for volumes: MONAI's 3D ResNets as feature extractors (N x F pooled features)."""

from __future__ import annotations

from typing import Callable

import torch.nn as nn
from monai.networks.nets import resnet10, resnet18, resnet34, resnet50

_RESNETS: dict[str, Callable[..., nn.Module]] = {
    "resnet10": resnet10,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
}


def list_backbones_3d() -> list[str]:
    """Names accepted by :func:`create_backbone_3d`."""
    return sorted(_RESNETS)


def create_backbone_3d(name: str, in_chans: int, **kwargs) -> nn.Module:
    """A randomly initialised MONAI 3D ResNet whose forward returns pooled features.

    Shape: input N x in_chans x D x H x W (float32) -> output N x ``num_features``.
    The stem uses stride 2 (``conv1_t_stride=2``, as in MedicalNet) so a 64^3 crop stays affordable;
    pass ``conv1_t_stride=1`` to keep full resolution. State-dict keys are MONAI's own (no wrapper prefix).

    Args:
        name: ``resnet10``, ``resnet18``, ``resnet34`` or ``resnet50``.
        in_chans: input channels (1 for a CT/MRI crop).
        **kwargs: passed to ``monai.networks.nets.ResNet`` (e.g. ``widen_factor``, ``norm``).

    Raises:
        ValueError: ``name`` is not a supported 3D backbone; the message lists the supported names.

    Examples:
        >>> net = create_backbone_3d("resnet18", in_chans=1)
        >>> net(torch.zeros(2, 1, 32, 32, 32)).shape
        torch.Size([2, 512])
    """
    if name not in _RESNETS:
        raise ValueError(
            f"backbone {name!r} has no 3D version; in 3D mode (modality.volume_mode=3d) use one of "
            f"{list_backbones_3d()}, or use volume_mode=2.5d for any timm model"
        )
    options = {"conv1_t_stride": 2, **kwargs}
    net = _RESNETS[name](spatial_dims=3, n_input_channels=in_chans, feed_forward=False, **options)
    net.num_features = net.in_planes  # channels after layer4 (x block expansion) = pooled feature size
    return net
