"""``export_run``: turn a run directory's checkpoint into an exported backbone.

Reads ``RUN/config.yaml`` (architecture, modality statistics, data) and ``RUN/checkpoints/last.pt``
(the method's state dict; the exported backbone is the ``encoder.`` sub-module: BYOL's online
encoder, MoCo's query encoder, SimSiam/SimCLR's encoder). Heads and target networks are dropped.
The backbone is rebuilt with domainssl's factory and loaded strictly before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from domainssl.export.detectron2 import export_detectron2
from domainssl.export.monai_state import export_monai
from domainssl.export.timm_folder import export_backbone
from domainssl.models.backbone import create_backbone

ExportFormat = Literal["timm", "detectron2", "monai"]
ENCODER_PREFIX = "encoder."


def export_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    checkpoint: str | Path | None = None,
    format: ExportFormat | None = None,
) -> Path:
    """Export the encoder of a pretraining run.

    Args:
        run_dir: the run folder (``config.yaml`` + ``checkpoints/``).
        out: output folder; default ``RUN/export``.
        checkpoint: checkpoint file; default ``RUN/checkpoints/last.pt``.
        format: ``timm`` (2D default), ``monai`` (3D default) or ``detectron2`` (2D ResNets).

    Returns:
        The output folder.

    Raises:
        FileNotFoundError: config.yaml or the checkpoint is missing (the message names the file).
        ValueError: the checkpoint holds no ``encoder.`` weights, or the format does not fit the run.

    Examples:
        >>> export_run("runs/tof-byol")                                   # runs/tof-byol/export (timm)
        >>> export_run("runs/tof-byol", out="d2", format="detectron2")   # d2/resnet18_domainssl_detectron2.pkl
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    ckpt_path = Path(checkpoint) if checkpoint is not None else run_dir / "checkpoints" / "last.pt"
    ckpt = read_checkpoint(ckpt_path)
    encoder_state = encoder_state_dict(ckpt["method"], ckpt_path)

    modality = config["modality"]
    arch = config["model"]["backbone"]
    mean, std = _stats(modality, run_dir)
    in_chans = len(mean)
    spatial_dims = 3 if modality.get("volume_mode") == "3d" else 2
    format = format or ("monai" if spatial_dims == 3 else "timm")
    if (format == "monai") != (spatial_dims == 3):
        raise ValueError(
            f"--format {format} does not fit this {spatial_dims}D run ({run_dir}); "
            f"use {'monai' if spatial_dims == 3 else 'timm or detectron2'}"
        )

    backbone = create_backbone(arch, in_chans, spatial_dims=spatial_dims)
    try:
        backbone.load_state_dict(encoder_state, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{ckpt_path}: encoder weights do not fit {arch} with {in_chans} channel(s) from {run_dir / 'config.yaml'}: {exc}"
        ) from exc
    backbone.eval()

    out_dir = Path(out) if out is not None else run_dir / "export"
    provenance = run_provenance(config, ckpt, ckpt_path)
    metrics = ckpt.get("metrics") or {}
    image_size = int(config["data"]["image_size"])
    input_size = [in_chans] + [image_size] * spatial_dims
    common = dict(architecture=arch, in_chans=in_chans, mean=mean, std=std, provenance=provenance)
    if format == "timm":
        return export_backbone(backbone, out_dir, input_size=input_size, metrics=metrics, **common)
    if format == "monai":
        return export_monai(backbone, out_dir, input_size=input_size, metrics=metrics, **common)
    if format == "detectron2":
        return export_detectron2(backbone, out_dir, **common)
    raise ValueError(f"unknown export format {format!r}; choose timm, detectron2 or monai")


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The resolved config dict from ``RUN/config.yaml``, with the sections export needs checked."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; is {run_dir} a domainssl run directory?")
    config = yaml.safe_load(path.read_text()) or {}
    for section, key in (("modality", "name"), ("method", "name"), ("model", "backbone"), ("data", "image_size")):
        if key not in (config.get(section) or {}):
            raise ValueError(f"{path}: missing {section}.{key}; the file is not a resolved domainssl config")
    return config


def read_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint; train first or pass --checkpoint PATH")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "method" not in ckpt:
        raise ValueError(f"{path}: not a domainssl checkpoint (expected a dict with a 'method' state dict)")
    return ckpt


def encoder_state_dict(method_state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """The ``encoder.`` sub-dict with the prefix stripped (projector/predictor/target keys dropped)."""
    state = {k[len(ENCODER_PREFIX):]: v for k, v in method_state.items() if k.startswith(ENCODER_PREFIX)}
    if not state:
        sample = sorted(method_state)[:5]
        raise ValueError(
            f"{path}: no '{ENCODER_PREFIX}*' weights in the method state (first keys: {sample}); "
            "the method must hold its exported backbone as `encoder`"
        )
    return state


def run_provenance(config: dict[str, Any], ckpt: dict[str, Any], ckpt_path: Path) -> dict[str, Any]:
    """Method, modality, data summary, steps and seed for the export's ``domainssl`` record."""
    modality, data, train = config["modality"], config["data"], config.get("train", {})
    paths = data.get("paths") or []
    if paths:
        source = f"{len(paths)} path(s): " + ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
    else:
        source = f"built-in synthetic {modality['name']} data ({data.get('synthetic_frames', '?')} frames)"
    return {
        "method": config["method"]["name"],
        "modality": modality["name"],
        "modality_options": {k: v for k, v in modality.items() if k != "name"},
        "data": f"{source}; image_size {data['image_size']}",
        "steps": int(ckpt.get("step", 0)),
        "batch_size": train.get("batch_size"),
        "seed": train.get("seed"),
        "checkpoint": ckpt_path.name,
    }


def _stats(modality: dict[str, Any], run_dir: Path) -> tuple[list[float], list[float]]:
    mean, std = modality.get("mean"), modality.get("std")
    if not mean or not std:
        raise ValueError(
            f"{run_dir / 'config.yaml'}: modality.mean/std are missing; the export needs the modality's "
            "fitted statistics (the pretrain loop writes them)"
        )
    return [float(m) for m in mean], [float(s) for s in std]
