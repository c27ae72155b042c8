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

import importlib.metadata
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import timm
import torch
import torch.nn as nn
from safetensors.torch import save_file
from timm.models import PretrainedCfg, get_pretrained_cfg

from domainssl.export.model_card import timm_card

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

#: Registry pretrained_cfg fields that describe the architecture or preprocessing style, not the weights.
_ARCH_FIELDS = ("first_conv", "classifier", "interpolation", "crop_mode", "fixed_input_size")


def export_backbone(
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
    model_args: Mapping[str, Any] | None = None,
    license: str = "other",
    verify: bool = True,
) -> Path:
    """Write a timm local-dir folder for a trained 2D backbone.

    Args:
        backbone: a timm model built with ``num_classes=0`` (its ``forward`` returns pooled features).
        out_dir: folder to write (created; existing export files are overwritten).
        architecture: the timm model name the backbone was built from (``resnet18``).
        in_chans: input channels of the backbone's stem.
        input_size: ``(C, H, W)`` the backbone was trained on; ``C == in_chans``.
        mean, std: per-channel statistics of the network input (length ``in_chans``).
        provenance: at least ``method`` and ``modality``; also ``data`` (summary), ``steps``, anything
            JSON-serialisable. Stored under the top-level ``domainssl`` key with the domainssl version.
        metrics: final monitored values (``{"loss": 0.12, "knn_acc": 0.8}``); shown on the model card.
        model_args: extra ``timm.create_model`` arguments needed to rebuild the architecture.
        license: licence identifier for the card's metadata; the weights inherit the training data's terms.
        verify: re-load the folder with ``timm.create_model("local-dir:...", pretrained=True)`` and check
            that every tensor comes back bit-identical.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ValueError: inconsistent channels/statistics, a backbone with a classifier, or a failed verification.

    Examples:
        >>> net = timm.create_model("resnet18", num_classes=0, in_chans=1)
        >>> path = export_backbone(net, "export", architecture="resnet18", in_chans=1,
        ...                        input_size=(1, 64, 64), mean=[0.5], std=[0.25],
        ...                        provenance={"method": "byol", "modality": "tof"})
        >>> timm.create_model("local-dir:export", pretrained=True).conv1.in_channels
        1
    """
    out_dir = Path(out_dir)
    if getattr(backbone, "num_classes", 0):
        raise ValueError(
            f"export {out_dir}: the backbone has a {backbone.num_classes}-class head; "
            "export the encoder built with num_classes=0 (no heads)"
        )
    config = timm_config(
        architecture=architecture,
        in_chans=in_chans,
        num_features=int(backbone.num_features),
        input_size=input_size,
        mean=mean,
        std=std,
        provenance=provenance,
        metrics=metrics,
        model_args=model_args,
        license=license,
    )
    state_dict = plain_state_dict(backbone)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state_dict, str(out_dir / WEIGHTS_NAME), metadata={"format": "pt"})
    write_json(out_dir / CONFIG_NAME, config)
    (out_dir / CARD_NAME).write_text(timm_card(config, out_dir))
    if verify:
        verify_timm_folder(out_dir, state_dict)
    return out_dir


def timm_config(
    *,
    architecture: str,
    in_chans: int,
    num_features: int,
    input_size: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    provenance: Mapping[str, Any],
    metrics: Mapping[str, float] | None = None,
    model_args: Mapping[str, Any] | None = None,
    license: str = "other",
) -> dict[str, Any]:
    """The ``config.json`` mapping of a timm local-dir export (validated against timm's PretrainedCfg).

    Raises:
        ValueError: unknown architecture, or input_size/mean/std whose channel count is not ``in_chans``,
            or provenance without ``method`` and ``modality``.
    """
    if not timm.is_model(architecture):
        raise ValueError(f"architecture {architecture!r} is not a timm model name; pass the name the backbone was built from")
    input_size = check_channels(in_chans, input_size, mean, std, spatial_dims=2)
    registry = get_pretrained_cfg(architecture)
    registry_fields = registry.to_dict() if registry is not None else {}
    pretrained_cfg = {k: registry_fields[k] for k in _ARCH_FIELDS if registry_fields.get(k) is not None}
    pretrained_cfg.update(
        architecture=architecture,
        input_size=input_size,
        crop_pct=1.0,  # evaluate on whole frames: SSL views were crops of the full image
        mean=[float(m) for m in mean],
        std=[float(s) for s in std],
        num_classes=0,
        license=license,
    )
    PretrainedCfg(**pretrained_cfg)  # raises TypeError on a key timm would reject
    return {
        "architecture": architecture,
        "num_classes": 0,
        "num_features": num_features,
        "model_args": {**dict(model_args or {}), "in_chans": in_chans},
        "pretrained_cfg": pretrained_cfg,
        "domainssl": provenance_record(provenance, metrics, export_format="timm"),
    }


def check_channels(
    in_chans: int, input_size: Sequence[int], mean: Sequence[float], std: Sequence[float], spatial_dims: int
) -> list[int]:
    """Check that ``input_size[0]``, ``len(mean)`` and ``len(std)`` all equal ``in_chans``; return input_size as a list."""
    input_size = [int(v) for v in input_size]
    if len(input_size) != 1 + spatial_dims:
        raise ValueError(f"input_size {input_size}: expected (C, {', '.join('DHW'[-spatial_dims:])})")
    if not (input_size[0] == len(mean) == len(std) == in_chans):
        raise ValueError(
            f"channel counts disagree: in_chans={in_chans}, input_size[0]={input_size[0]}, "
            f"len(mean)={len(mean)}, len(std)={len(std)}; pass the modality's per-channel statistics"
        )
    if any(not s > 0 for s in std):
        raise ValueError(f"std {list(std)}: every channel's std must be > 0")
    return input_size


def provenance_record(
    provenance: Mapping[str, Any], metrics: Mapping[str, float] | None, export_format: str
) -> dict[str, Any]:
    """The top-level ``domainssl`` record: provenance + version + finite metrics (non-finite → null)."""
    missing = [k for k in ("method", "modality") if k not in provenance]
    if missing:
        raise ValueError(f"provenance lacks {missing}; an export must name the SSL method and the modality")
    record = dict(provenance)
    record.setdefault("version", domainssl_version())
    record["format"] = export_format
    record["metrics"] = {k: (float(v) if math.isfinite(float(v)) else None) for k, v in (metrics or {}).items()}
    return record


def domainssl_version() -> str:
    try:
        return importlib.metadata.version("domainssl")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def plain_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies of every tensor (channels_last or GPU weights become plain NCHW)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


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
