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
import importlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from domainssl.export.load import adapt_stem_weight, read_export_config
from domainssl.export.model_card import monai_card
from domainssl.export.timm_folder import (
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    check_channels,
    plain_state_dict,
    provenance_record,
    write_json,
)

#: MONAI ResNet factories (``monai.networks.nets.<name>``) this export understands.
MONAI_RESNETS = ("resnet10", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet200")
_CONSTRUCTOR_MODULE = "monai.networks.nets"


def export_monai(
    backbone: nn.Module,
    out_dir: str | Path,
    *,
    architecture: str,
    in_chans: int,
    input_size: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    provenance: Mapping[str, Any],
    metrics: Mapping[str, float] | None = None,
    constructor_kwargs: Mapping[str, Any] | None = None,
    license: str = "other",
    verify: bool = True,
) -> Path:
    """Write a MONAI 3D ResNet as ``model.safetensors`` + ``config.json`` + ``README.md``.

    Args:
        backbone: a ``monai.networks.nets.ResNet`` built with ``feed_forward=False``.
        out_dir: folder to write.
        architecture: the MONAI factory name (``resnet18``).
        in_chans: input channels; input_size is ``(C, D, H, W)`` with ``C == in_chans``.
        mean, std: per-channel statistics of the network input (length ``in_chans``).
        provenance: at least ``method`` and ``modality`` (see :func:`~domainssl.export.export_backbone`).
        metrics: final monitored values for the card.
        constructor_kwargs: the factory's keyword arguments; None reads them off ``backbone``.
        license: licence identifier for the card's metadata.
        verify: rebuild from the recorded call, load strictly and compare outputs on a small volume.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ValueError: not a MONAI ResNet, inconsistent channels, or a failed verification.
    """
    out_dir = Path(out_dir)
    if architecture not in MONAI_RESNETS:
        raise ValueError(f"MONAI export supports {list(MONAI_RESNETS)}, got architecture {architecture!r}")
    input_size = check_channels(in_chans, input_size, mean, std, spatial_dims=3)
    kwargs = dict(constructor_kwargs) if constructor_kwargs is not None else monai_resnet_kwargs(backbone)
    if kwargs.get("n_input_channels") != in_chans:
        raise ValueError(f"constructor n_input_channels={kwargs.get('n_input_channels')} but in_chans={in_chans}")
    config = {
        "library": "monai",
        "architecture": architecture,
        "constructor": f"{_CONSTRUCTOR_MODULE}.{architecture}",
        "constructor_kwargs": kwargs,
        "num_features": int(getattr(backbone, "num_features", getattr(backbone, "in_planes", 0))),
        "in_chans": in_chans,
        "input_size": input_size,
        "mean": [float(m) for m in mean],
        "std": [float(s) for s in std],
        "first_conv": "conv1",
        "license": license,
        "domainssl": provenance_record(provenance, metrics, export_format="monai"),
    }
    state_dict = plain_state_dict(backbone)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state_dict, str(out_dir / WEIGHTS_NAME), metadata={"format": "pt"})
    write_json(out_dir / CONFIG_NAME, config)
    (out_dir / CARD_NAME).write_text(monai_card(config, out_dir))
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
    if module != _CONSTRUCTOR_MODULE or name not in MONAI_RESNETS:
        raise ValueError(f"constructor {constructor!r}: expected {_CONSTRUCTOR_MODULE}.<one of {list(MONAI_RESNETS)}>")
    return getattr(importlib.import_module(module), name)(**kwargs)


def load_monai_backbone(path: str | Path, in_chans: int | None = None) -> nn.Module:
    """Rebuild a MONAI export and load it strictly; the stem adapts 1 → N / N → 1 like the timm loader."""
    path = Path(path)
    config = read_export_config(path)
    kwargs = dict(config["constructor_kwargs"])
    state_dict = load_file(str(path / WEIGHTS_NAME))
    if in_chans is not None and in_chans != config["in_chans"]:
        state_dict["conv1.weight"] = adapt_stem_weight(state_dict["conv1.weight"], in_chans)
        kwargs["n_input_channels"] = in_chans
    net = build_monai(config["constructor"], kwargs)
    net.load_state_dict(state_dict, strict=True)
    net.num_features = config["num_features"]  # as domainssl's 3D backbone factory sets it
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
