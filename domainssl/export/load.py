"""``load_backbone``: rebuild an exported backbone and load every weight strictly.

Channel adaptation is explicit and exact where it can be: a 1-channel stem feeding N channels is
repeated and divided by N (an image copied into every channel gives the same activations); an
N-channel stem feeding 1 channel is summed over channels. Anything else raises; a stem is never
silently re-initialised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import timm
import torch
import torch.nn as nn
from safetensors.torch import load_file

from domainssl.export.timm_folder import CONFIG_NAME, WEIGHTS_NAME


def load_backbone(
    path: str | Path, in_chans: int | None = None, features_only: bool = False, **timm_kwargs: Any
) -> nn.Module:
    """Build the backbone an export folder describes and load its weights strictly.

    Args:
        path: an export folder (``config.json`` + ``model.safetensors``), timm or MONAI format.
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
    path = Path(path)
    config = read_export_config(path)
    if config.get("library") == "monai":
        if features_only or timm_kwargs:
            raise ValueError(f"{path}: a MONAI export takes no features_only/timm arguments; use MONAI's own API on the loaded net")
        from domainssl.export.monai_state import load_monai_backbone

        return load_monai_backbone(path, in_chans=in_chans)
    return _load_timm(path, config, in_chans, features_only, timm_kwargs)


def read_export_config(path: Path) -> dict[str, Any]:
    """Read and sanity-check ``path/config.json`` (with ``model.safetensors`` next to it)."""
    cfg_file = path / CONFIG_NAME
    if not cfg_file.is_file():
        raise FileNotFoundError(f"{cfg_file}: no such file; point at a folder written by `domainssl export`")
    if not (path / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(f"{path / WEIGHTS_NAME}: no such file; the export is incomplete, re-run `domainssl export`")
    try:
        config = json.loads(cfg_file.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{cfg_file}: not valid JSON ({exc}); re-run `domainssl export`") from exc
    if "architecture" not in config:
        raise ValueError(f"{cfg_file}: no 'architecture' key; not a domainssl/timm export")
    return config


def adapt_stem_weight(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Adapt a stem convolution weight (O x C_src x k...) to ``in_chans`` input channels.

    1 → N: repeat along the input-channel axis and divide by N, so an image replicated into N
    channels gives exactly the 1-channel activations. N → 1: sum over input channels (a gray
    image fed to an N-channel stem as N equal copies). Works for 2D (4-D) and 3D (5-D) weights.

    Raises:
        ValueError: any other change (e.g. 2 → 3): there is no exact mapping; re-train or map by hand.
    """
    src = weight.shape[1]
    if in_chans == src:
        return weight
    if in_chans < 1:
        raise ValueError(f"in_chans must be >= 1, got {in_chans}")
    if src == 1:
        repeats = (1, in_chans) + (1,) * (weight.ndim - 2)
        return weight.repeat(*repeats) / in_chans  # O x N x k...
    if in_chans == 1:
        return weight.sum(dim=1, keepdim=True)  # O x 1 x k...
    raise ValueError(
        f"cannot adapt a {src}-channel stem to {in_chans} channels exactly (only 1 → N and N → 1 are defined); "
        f"load with in_chans={src} and feed {src} channels, or adapt the stem weight yourself"
    )


def adapt_stats(values: list[float], in_chans: int) -> list[float]:
    """Per-channel mean/std for the adapted stem: 1 → N repeats, N → 1 averages."""
    if len(values) == in_chans:
        return list(values)
    if len(values) == 1:
        return list(values) * in_chans
    return [sum(values) / len(values)]


def _load_timm(
    path: Path, config: dict[str, Any], in_chans: int | None, features_only: bool, timm_kwargs: dict[str, Any]
) -> nn.Module:
    arch = config["architecture"]
    model_args = dict(config.get("model_args", {}))
    pretrained_cfg = dict(config["pretrained_cfg"])
    src = int(model_args.get("in_chans", pretrained_cfg["input_size"][0]))
    target = src if in_chans is None else int(in_chans)
    state_dict = load_file(str(path / WEIGHTS_NAME))
    if target != src:
        first_conv = pretrained_cfg.get("first_conv")
        if not first_conv:
            raise ValueError(f"{path / CONFIG_NAME}: pretrained_cfg has no first_conv, so the stem to adapt is unknown")
        for name in [first_conv] if isinstance(first_conv, str) else first_conv:
            key = f"{name}.weight"
            if key not in state_dict:
                raise ValueError(f"{path / WEIGHTS_NAME}: first_conv weight {key!r} not found; cannot adapt the stem")
            state_dict[key] = adapt_stem_weight(state_dict[key], target)
        pretrained_cfg["mean"] = adapt_stats(pretrained_cfg["mean"], target)
        pretrained_cfg["std"] = adapt_stats(pretrained_cfg["std"], target)
    pretrained_cfg.update(
        input_size=[target, *pretrained_cfg["input_size"][1:]],
        num_classes=config.get("num_classes", 0),
        state_dict=state_dict,  # timm's own (strict) pretrained loading, before any features_only wrapping
    )
    kwargs = {**model_args, "in_chans": target, **timm_kwargs}
    try:
        model = timm.create_model(arch, pretrained=True, pretrained_cfg=pretrained_cfg, features_only=features_only, **kwargs)
    except RuntimeError as exc:  # timm's strict load_state_dict
        raise ValueError(f"{path / WEIGHTS_NAME}: weights do not load strictly into {arch} (arguments {kwargs}): {exc}") from exc
    model.pretrained_cfg.pop("state_dict", None)  # keep the weights out of the model's metadata
    if not features_only:
        _check_loaded(path, model, state_dict)
    return model


def _check_loaded(path: Path, model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Every exported tensor must be in the model, unchanged (guards timm's non-strict head swap)."""
    loaded = model.state_dict()
    missing = [k for k in state_dict if k not in loaded]
    changed = [k for k in state_dict if k in loaded and not torch.equal(loaded[k], state_dict[k])]
    if missing or changed:
        raise ValueError(
            f"{path / WEIGHTS_NAME}: weights did not load into {type(model).__name__} "
            f"(not in model: {missing[:5]}, differing: {changed[:5]}); check the timm arguments you passed"
        )
