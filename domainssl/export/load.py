"""``load_backbone``: rebuild an exported backbone and load every weight strictly.

Channel adaptation is explicit and exact where it can be (see :mod:`domainssl.export.stem`): a
1-channel stem feeding N channels is repeated and divided by N; an N-channel stem feeding 1 channel
is summed over channels. Anything else raises; a stem is never silently re-initialised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import timm
import torch
import torch.nn as nn
from safetensors.torch import load_file

from domainssl.export.monai_state import load_monai_backbone
from domainssl.export.spec import CONFIG_NAME, ExportSpec
from domainssl.export.stem import adapt_stats, adapt_stem_weight


def load_backbone(
    source: str | Path | ExportSpec, in_chans: int | None = None, features_only: bool = False, **timm_kwargs: Any
) -> nn.Module:
    """Build the backbone an export folder describes and load its weights strictly.

    Args:
        source: an export folder (``config.json`` + ``model.safetensors``), timm or MONAI format, or its
            :class:`~domainssl.export.ExportSpec` (read once, passed on: config.json is not read again).
        in_chans: input channels wanted; None keeps the exported count. 1 → N repeats the stem and
            divides by N; N → 1 sums it; other changes raise.
        features_only: return a timm ``features_only`` model (a feature pyramid) with the same weights.
        **timm_kwargs: passed to ``timm.create_model`` (``out_indices``, ``drop_path_rate``, ...).

    Returns:
        The model in train mode (call ``.eval()`` for inference), on the CPU.

    Raises:
        FileNotFoundError: the folder lacks config.json or model.safetensors.
        ValueError: a channel change that cannot be done exactly, or weights that do not fit the model.

    Examples:
        >>> model = load_backbone("runs/tof/export")                 # 1-channel depth backbone
        >>> rgb = load_backbone("runs/tof/export", in_chans=3)        # same features on gray-in-RGB input
        >>> pyramid = load_backbone("runs/tof/export", features_only=True, out_indices=(1, 2, 3, 4))
    """
    spec = ExportSpec.of(source)
    if spec.format == "monai":
        if features_only or timm_kwargs:
            raise ValueError(f"{spec.folder}: a MONAI export takes no features_only/timm arguments; use MONAI's own API on the loaded net")
        return load_monai_backbone(spec, in_chans=in_chans)
    return _load_timm(spec, in_chans, features_only, timm_kwargs)


def _load_timm(spec: ExportSpec, in_chans: int | None, features_only: bool, timm_kwargs: dict[str, Any]) -> nn.Module:
    arch, weights_file = spec.architecture, spec.weights_file
    pretrained_cfg = spec.pretrained_cfg()
    target = spec.in_chans if in_chans is None else int(in_chans)
    state_dict = load_file(str(weights_file))
    if target != spec.in_chans:
        first_conv = pretrained_cfg.get("first_conv")
        if not first_conv:
            raise ValueError(f"{spec.folder / CONFIG_NAME}: pretrained_cfg has no first_conv, so the stem to adapt is unknown")
        for name in [first_conv] if isinstance(first_conv, str) else first_conv:
            key = f"{name}.weight"
            if key not in state_dict:
                raise ValueError(f"{weights_file}: first_conv weight {key!r} not found; cannot adapt the stem")
            state_dict[key] = adapt_stem_weight(state_dict[key], target)
        pretrained_cfg["mean"] = adapt_stats(pretrained_cfg["mean"], target)
        pretrained_cfg["std"] = adapt_stats(pretrained_cfg["std"], target)
    pretrained_cfg.update(
        input_size=[target, *pretrained_cfg["input_size"][1:]],
        state_dict=state_dict,  # timm's own (strict) pretrained loading, before any features_only wrapping
    )
    kwargs = {**spec.model_args, "in_chans": target, **timm_kwargs}
    try:
        model = timm.create_model(arch, pretrained=True, pretrained_cfg=pretrained_cfg, features_only=features_only, **kwargs)
    except RuntimeError as exc:  # timm's strict load_state_dict
        raise ValueError(f"{weights_file}: weights do not load strictly into {arch} (arguments {kwargs}): {exc}") from exc
    model.pretrained_cfg.pop("state_dict", None)  # keep the weights out of the model's metadata
    if not features_only:
        _check_loaded(weights_file, model, state_dict)
    return model


def _check_loaded(weights_file: Path, model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Every exported tensor must be in the model, unchanged (guards timm's non-strict head swap)."""
    loaded = model.state_dict()
    missing = [k for k in state_dict if k not in loaded]
    changed = [k for k in state_dict if k in loaded and not torch.equal(loaded[k], state_dict[k])]
    if missing or changed:
        raise ValueError(
            f"{weights_file}: weights did not load into {type(model).__name__} "
            f"(not in model: {missing[:5]}, differing: {changed[:5]}); check the timm arguments you passed"
        )
