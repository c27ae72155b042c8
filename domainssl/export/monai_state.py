"""MONAI export for 3D backbones: ``model.safetensors`` + ``config.json`` naming the constructor call.

``config.json`` records ``constructor`` (``monai.networks.nets.resnet18``) and ``constructor_kwargs``
(``spatial_dims=3, n_input_channels=C, feed_forward=False, ...``), so::

    net = monai.networks.nets.resnet18(**config["constructor_kwargs"])
    net.load_state_dict(safetensors.torch.load_file("model.safetensors"), strict=True)

rebuilds the exact network. The keyword arguments are read off the trained MONAI ResNet and checked
by rebuilding it, loading strictly, and comparing outputs before the export is accepted.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn
from safetensors.torch import load_file

from domainssl.export.spec import MONAI_NETS, ExportSpec, plain_state_dict
from domainssl.export.stem import adapt_stem_weight

#: MONAI ResNet factories (``monai.networks.nets.<name>``) this export understands.
MONAI_RESNETS = ("resnet10", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet200")


def export_monai(backbone: nn.Module, out_dir: str | Path, spec: ExportSpec, verify: bool = True) -> Path:
    """Write a MONAI 3D ResNet as ``model.safetensors`` + ``config.json`` + ``README.md``.

    Args:
        backbone: a ``monai.networks.nets.ResNet`` built with ``feed_forward=False``.
        out_dir: folder to write.
        spec: what the export is, with ``spatial_dims=3``: ``architecture`` is the MONAI factory name
            (``resnet18``), ``input_size`` is ``(C, D, H, W)``, ``model_args`` the factory's keyword
            arguments (empty: read off ``backbone``). Its format and num_features are set here.
        verify: rebuild from the recorded call, load strictly and compare outputs on a small volume.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ValueError: not a MONAI ResNet, a 2D spec, inconsistent channels, or a failed verification.

    Examples:
        >>> net = create_backbone("resnet10", in_chans=1, spatial_dims=3)
        >>> spec = ExportSpec(architecture="resnet10", in_chans=1, input_size=(1, 32, 32, 32), mean=[0.2], std=[0.9],
        ...                   provenance={"method": "simsiam", "modality": "ct"}, spatial_dims=3)
        >>> export_monai(net, "export", spec)
    """
    out_dir = Path(out_dir)
    if spec.architecture not in MONAI_RESNETS:
        raise ValueError(f"MONAI export supports {list(MONAI_RESNETS)}, got architecture {spec.architecture!r}")
    if spec.spatial_dims != 3:
        raise ValueError(f"a MONAI export is 3D; this spec has spatial_dims={spec.spatial_dims} (use export_backbone)")
    spec = dataclasses.replace(
        spec,
        format="monai",
        model_args=spec.model_args or monai_resnet_kwargs(backbone),
        num_features=int(getattr(backbone, "num_features", getattr(backbone, "in_planes", 0))),
        arch_cfg={"first_conv": "conv1"},
    )
    spec.write(out_dir, plain_state_dict(backbone))
    if verify:
        _verify(out_dir, backbone)
    return out_dir


def monai_resnet_kwargs(net: nn.Module) -> dict[str, Any]:
    """Read the factory keyword arguments off a MONAI ResNet (default act/norm assumed, then verified).

    Raises:
        ValueError: ``net`` is not a ``monai.networks.nets.ResNet``.
    """
    from monai.networks.nets import ResNet

    if not isinstance(net, ResNet):
        raise ValueError(f"MONAI export needs a monai.networks.nets.ResNet, got {type(net).__name__}")
    conv1 = net.conv1
    downsample = next(block.downsample for layer in (net.layer1, net.layer2, net.layer3, net.layer4)
                      for block in layer if block.downsample is not None)
    kwargs: dict[str, Any] = {
        "spatial_dims": len(conv1.kernel_size),
        "n_input_channels": conv1.in_channels,
        "conv1_t_size": list(conv1.kernel_size),
        "conv1_t_stride": list(conv1.stride),
        "no_max_pool": bool(net.no_max_pool),
        "shortcut_type": "B" if isinstance(downsample, nn.Module) else "A",
        "widen_factor": conv1.out_channels / 64,
        "bias_downsample": bool(net.bias_downsample),
        "feed_forward": net.fc is not None,
    }
    if net.fc is not None:
        kwargs["num_classes"] = net.fc.out_features
    return kwargs


def build_monai(constructor: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """Call ``monai.networks.nets.<name>(**kwargs)`` from a recorded constructor path."""
    module, _, name = constructor.rpartition(".")
    if module != MONAI_NETS or name not in MONAI_RESNETS:
        raise ValueError(f"constructor {constructor!r}: expected {MONAI_NETS}.<one of {list(MONAI_RESNETS)}>")
    return getattr(importlib.import_module(module), name)(**kwargs)


def load_monai_backbone(source: str | Path | ExportSpec, in_chans: int | None = None) -> nn.Module:
    """Rebuild a MONAI export (folder or :class:`ExportSpec`) and load it strictly; the stem adapts 1 → N / N → 1."""
    spec = ExportSpec.of(source)
    kwargs = dict(spec.model_args)
    state_dict = load_file(str(spec.weights_file))
    if in_chans is not None and in_chans != spec.in_chans:
        state_dict["conv1.weight"] = adapt_stem_weight(state_dict["conv1.weight"], in_chans)
        kwargs["n_input_channels"] = in_chans
    net = build_monai(f"{MONAI_NETS}.{spec.architecture}", kwargs)
    net.load_state_dict(state_dict, strict=True)
    net.num_features = spec.num_features  # as domainssl's 3D backbone factory sets it
    return net


def _verify(out_dir: Path, backbone: nn.Module) -> None:
    try:
        rebuilt = load_monai_backbone(out_dir).eval()
    except RuntimeError as exc:  # strict load_state_dict
        raise ValueError(
            f"export {out_dir}: the recorded constructor call does not rebuild this network ({exc}); "
            "pass constructor_kwargs explicitly"
        ) from exc
    original = copy.deepcopy(backbone).to("cpu", torch.float32).eval()
    c = rebuilt.conv1.in_channels
    x = torch.randn(1, c, 16, 16, 16, generator=torch.Generator().manual_seed(0))  # 1 x C x 16^3
    with torch.no_grad():
        same = torch.allclose(rebuilt(x), original(x), rtol=1e-3, atol=1e-4)  # float noise only
    if not same:
        raise ValueError(
            f"export {out_dir}: the network rebuilt from config.json gives different outputs "
            "(non-default act/norm arguments?); pass constructor_kwargs explicitly"
        )
