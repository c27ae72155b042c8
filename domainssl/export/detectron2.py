"""detectron2 export for ResNet backbones: a ``.pkl`` in the MoCo conversion convention + config note.

Key renaming (MoCo's ``convert-pretrain-to-detectron2.py``): ``layerN`` → ``res{N+1}``,
``bnK`` → ``convK.norm``, ``downsample.0/1`` → ``shortcut`` / ``shortcut.norm``, stem
``conv1``/``bn1`` → ``stem.conv1`` / ``stem.conv1.norm``. Values are numpy arrays; the pickle is
``{"model": ..., "__author__": "domainssl", "matching_heuristics": True}``. detectron2 itself is not
needed to write it.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import yaml

from domainssl.export.spec import ExportSpec, plain_state_dict

#: timm ResNets with detectron2's plain 7x7 stem and block layout, and their MODEL.RESNETS.DEPTH.
DETECTRON2_DEPTHS = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101, "resnet152": 152}
NOTE_NAME = "detectron2_config.yaml"


def detectron2_key(key: str) -> str:
    """Rename one timm ResNet key to detectron2's (``layer1.0.bn1.weight`` → ``res2.0.conv1.norm.weight``)."""
    if not key.startswith("layer"):
        key = "stem." + key
    for t in (1, 2, 3, 4):
        key = key.replace(f"layer{t}", f"res{t + 1}")
    for t in (1, 2, 3):
        key = key.replace(f"bn{t}", f"conv{t}.norm")
    return key.replace("downsample.0", "shortcut").replace("downsample.1", "shortcut.norm")


def to_detectron2(state_dict: Mapping[str, torch.Tensor], architecture: str) -> dict[str, np.ndarray]:
    """Convert a timm ResNet state dict (no head) to detectron2 names and numpy arrays.

    BatchNorm ``num_batches_tracked`` counters are dropped (detectron2's FrozenBN has none).

    Raises:
        ValueError: not one of :data:`DETECTRON2_DEPTHS`, or keys outside the stem and ``layer1-4``.
    """
    if architecture not in DETECTRON2_DEPTHS:
        raise ValueError(
            f"--format detectron2 supports ResNet backbones {sorted(DETECTRON2_DEPTHS)}; got {architecture!r}. "
            "Use --format timm for other architectures"
        )
    allowed = ("conv1.weight", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")
    unexpected = [k for k in state_dict if not k.startswith(allowed)]
    if unexpected:
        raise ValueError(f"{architecture}: keys {unexpected[:5]} have no detectron2 counterpart (a head or a deep stem?)")
    return {
        detectron2_key(k): v.detach().cpu().numpy()
        for k, v in state_dict.items()
        if not k.endswith("num_batches_tracked")
    }


def export_detectron2(backbone: nn.Module, out_dir: str | Path, spec: ExportSpec) -> Path:
    """Write ``<arch>_domainssl_detectron2.pkl`` and ``detectron2_config.yaml`` into ``out_dir``.

    The config note sets ``MODEL.PIXEL_MEAN``/``PIXEL_STD`` (length ``in_chans``, 0–255 scale: feed the
    modality's normalised image times 255), ``MODEL.RESNETS.STRIDE_IN_1X1: False`` (timm puts the stride
    in the 3x3 conv), ``DEPTH``, ``RES2_OUT_CHANNELS`` for R18/34, and ``INPUT.FORMAT`` where one exists.

    Args:
        backbone: a timm ResNet built with ``num_classes=0``.
        out_dir: folder to write.
        spec: the 2D export's architecture, statistics and provenance (its format is set here).

    Returns:
        ``out_dir`` as a Path.
    """
    out_dir = Path(out_dir)
    if spec.spatial_dims != 2:
        raise ValueError(f"a detectron2 export is 2D; this spec has spatial_dims={spec.spatial_dims}")
    model = to_detectron2(plain_state_dict(backbone), spec.architecture)
    record = dataclasses.replace(spec, format="detectron2").record()
    out_dir.mkdir(parents=True, exist_ok=True)
    pkl = out_dir / f"{spec.architecture}_domainssl_detectron2.pkl"
    with open(pkl, "wb") as f:
        pickle.dump({"model": model, "__author__": "domainssl", "matching_heuristics": True}, f)
    (out_dir / NOTE_NAME).write_text(detectron2_note(pkl, spec.architecture, spec.mean, spec.std, record))
    return out_dir


def detectron2_note(pkl: Path, architecture: str, mean: Sequence[float], std: Sequence[float], record: Mapping[str, Any]) -> str:
    """A mergeable detectron2 YAML (``cfg.merge_from_file``) with a comment header explaining each value."""
    depth = DETECTRON2_DEPTHS[architecture]
    resnets: dict[str, Any] = {"DEPTH": depth, "STRIDE_IN_1X1": False}
    if depth in (18, 34):
        resnets["RES2_OUT_CHANNELS"] = 64
    values: dict[str, Any] = {
        "MODEL": {
            "WEIGHTS": str(pkl),
            "PIXEL_MEAN": [round(255.0 * m, 6) for m in mean],
            "PIXEL_STD": [round(255.0 * s, 6) for s in std],
            "RESNETS": resnets,
        }
    }
    formats = {1: "L", 3: "RGB"}
    if len(mean) in formats:
        values["INPUT"] = {"FORMAT": formats[len(mean)]}
    header = [
        f"# detectron2 settings for {pkl.name}: {architecture} pretrained with {record['method']} on {record['modality']}",
        f"# (domainssl {record['version']}). Merge after a base ResNet config: cfg.merge_from_file('{NOTE_NAME}').",
        f"# The stem takes {len(mean)} channel(s): detectron2 derives it from len(PIXEL_MEAN).",
        "# PIXEL_MEAN/PIXEL_STD are the modality statistics x 255: feed the modality's normalised image x 255.",
        "# STRIDE_IN_1X1: False because timm ResNets stride in the 3x3 conv (torchvision style, as in MoCo).",
    ]
    if len(mean) not in formats:
        header.append(f"# No detectron2 INPUT.FORMAT reads {len(mean)}-channel images: register a dataset mapper.")
    return "\n".join(header) + "\n" + yaml.safe_dump(values, sort_keys=False)
