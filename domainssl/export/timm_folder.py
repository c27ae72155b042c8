"""The timm local-dir export: ``config.json`` + ``model.safetensors`` + ``README.md``.

The folder loads in a plain Python process with nothing but timm installed::

    timm.create_model("local-dir:/path/to/export", pretrained=True)

``config.json`` follows timm's hub layout (``architecture``, ``num_classes``, ``num_features``,
``model_args``, ``pretrained_cfg``); the ``pretrained_cfg`` carries the *modality's* input size and
statistics (length ``in_chans``), never an ImageNet tag, URL or hub id. Provenance (method,
modality, data, steps, domainssl version, metrics) sits in a top-level ``domainssl`` key, which timm
ignores; timm rejects unknown keys inside ``pretrained_cfg``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

import timm
import torch
import torch.nn as nn
from timm.models import PretrainedCfg, get_pretrained_cfg

from domainssl.export.spec import ExportSpec, plain_state_dict

#: Registry pretrained_cfg fields that describe the architecture or preprocessing style, not the weights.
_ARCH_FIELDS = ("first_conv", "classifier", "interpolation", "crop_mode", "fixed_input_size")


def export_backbone(backbone: nn.Module, out_dir: str | Path, spec: ExportSpec, verify: bool = True) -> Path:
    """Write a timm local-dir folder for a trained 2D backbone.

    Args:
        backbone: a timm model built with ``num_classes=0`` (its ``forward`` returns pooled features).
        out_dir: folder to write (created; existing export files are overwritten).
        spec: what the export is: the timm name the backbone was built from, ``in_chans``,
            ``input_size`` ``(C, H, W)``, the modality's ``mean``/``std``, ``provenance`` (at least
            ``method`` and ``modality``; stored under the top-level ``domainssl`` key with the domainssl
            version), ``metrics`` (shown on the model card), ``model_args`` (extra ``timm.create_model``
            arguments needed to rebuild the architecture) and ``license``. Its format, num_features and
            the registry's architecture fields are set here.
        verify: re-load the folder with ``timm.create_model("local-dir:...", pretrained=True)`` and check
            that every tensor comes back bit-identical.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ValueError: an unknown architecture, a 3D spec, provenance without method and modality, a backbone
            with a classifier, or a failed verification (nothing is written in the first four cases).

    Examples:
        >>> net = timm.create_model("resnet18", num_classes=0, in_chans=1)
        >>> spec = ExportSpec(architecture="resnet18", in_chans=1, input_size=(1, 64, 64), mean=[0.5], std=[0.25],
        ...                   provenance={"method": "byol", "modality": "tof"})
        >>> path = export_backbone(net, "export", spec)
        >>> timm.create_model("local-dir:export", pretrained=True).conv1.in_channels
        1
    """
    out_dir = Path(out_dir)
    if getattr(backbone, "num_classes", 0):
        raise ValueError(
            f"export {out_dir}: the backbone has a {backbone.num_classes}-class head; "
            "export the encoder built with num_classes=0 (no heads)"
        )
    spec = _timm_spec(spec, int(backbone.num_features))
    state_dict = plain_state_dict(backbone)
    spec.write(out_dir, state_dict)
    if verify:
        verify_timm_folder(out_dir, state_dict)
    return out_dir


def _timm_spec(spec: ExportSpec, num_features: int) -> ExportSpec:
    """``spec`` as a timm export: format, num_features and the registry's architecture fields, checked by timm.

    Raises:
        ValueError: not a timm model name, a 3D spec, or provenance without ``method`` and ``modality``.
    """
    if not timm.is_model(spec.architecture):
        raise ValueError(f"architecture {spec.architecture!r} is not a timm model name; pass the name the backbone was built from")
    if spec.spatial_dims != 2:
        raise ValueError(f"a timm export is 2D; this spec has spatial_dims={spec.spatial_dims} (use export_monai)")
    registry = get_pretrained_cfg(spec.architecture)
    registry_fields = registry.to_dict() if registry is not None else {}
    arch_cfg = {k: registry_fields[k] for k in _ARCH_FIELDS if registry_fields.get(k) is not None}
    arch_cfg["crop_pct"] = 1.0  # evaluate on whole frames: SSL views were crops of the full image
    spec = dataclasses.replace(spec, format="timm", num_features=num_features, arch_cfg=arch_cfg)
    PretrainedCfg(**spec.to_config()["pretrained_cfg"])  # raises TypeError on a key timm would reject
    return spec


def verify_timm_folder(out_dir: Path, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load ``out_dir`` through timm's own local-dir path and check every tensor is bit-identical.

    Raises:
        ValueError: a key is missing/extra or a tensor differs (the folder would not round-trip).
    """
    model = timm.create_model(f"local-dir:{out_dir}", pretrained=True)
    loaded = model.state_dict()
    if set(loaded) != set(state_dict):
        raise ValueError(
            f"export {out_dir}: timm rebuilt a model whose keys differ from the exported weights "
            f"(missing {sorted(set(state_dict) - set(loaded))[:5]}, extra {sorted(set(loaded) - set(state_dict))[:5]}); "
            "check architecture and model_args"
        )
    changed = [k for k, v in state_dict.items() if not torch.equal(loaded[k], v)]
    if changed:
        raise ValueError(f"export {out_dir}: tensors changed on reload: {changed[:5]}")
