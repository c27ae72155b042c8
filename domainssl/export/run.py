"""``export_run``: turn a run directory's checkpoint into an exported backbone.

Reads ``RUN/config.yaml`` (architecture, modality statistics, data) and ``RUN/checkpoints/last.pt``
(the method's state dict; the exported backbone is the ``encoder.`` sub-module: BYOL's online
encoder, MoCo's query encoder, SimSiam/SimCLR's encoder). Heads and target networks are dropped.
The backbone is rebuilt with domainssl's factory and loaded strictly before anything is written.

The training loop exports from memory through the same two steps, :func:`run_spec` then
:func:`write_export`, so its export equals ``domainssl export RUN`` of the finished run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn
import yaml

from domainssl.export.detectron2 import export_detectron2
from domainssl.export.monai_state import export_monai
from domainssl.export.spec import ExportFormat, ExportSpec
from domainssl.export.timm_folder import export_backbone
from domainssl.modalities import get_modality
from domainssl.modalities.base import Modality
from domainssl.models.backbone import create_backbone

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

    modality = run_modality(config, run_dir / "config.yaml")
    dims = modality.spatial_dims
    if format is not None and (format == "monai") != (dims == 3):
        raise ValueError(
            f"--format {format} does not fit this {dims}D run ({run_dir}); "
            f"use {'monai' if dims == 3 else 'timm or detectron2'}"
        )
    spec = run_spec(config, modality, steps=int(ckpt.get("step", 0)), metrics=ckpt.get("metrics") or {},
                    checkpoint=ckpt_path.name, format=format)

    backbone = create_backbone(spec.architecture, spec.in_chans, spatial_dims=dims)
    try:
        backbone.load_state_dict(encoder_state, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{ckpt_path}: encoder weights do not fit {spec.architecture} with {spec.in_chans} channel(s) "
            f"from {run_dir / 'config.yaml'}: {exc}"
        ) from exc
    return write_export(backbone.eval(), Path(out) if out is not None else run_dir / "export", spec)


def run_spec(
    config: Mapping[str, Any],
    modality: Modality,
    *,
    steps: int,
    metrics: Mapping[str, float],
    checkpoint: str,
    format: ExportFormat | None = None,
) -> ExportSpec:
    """The export of a pretraining run: its resolved config and its modality (statistics fitted).

    The training loop calls it from memory at the end of a run; :func:`export_run` from ``RUN/config.yaml``
    and a checkpoint. Both then write with :func:`write_export`, so the two exports are identical.

    Args:
        config: the resolved config as a dict (``RunConfig.to_dict()``, or ``RUN/config.yaml`` loaded).
        modality: the run's modality: channels, spatial dims and mean/std of the exported input.
        steps: optimiser steps the weights were trained for.
        metrics: final monitored values (``{"loss": 0.12}``).
        checkpoint: file name of the checkpoint holding these weights (``last.pt``).
        format: ``timm``, ``monai`` or ``detectron2``; None: timm for 2D, monai for 3D.

    Raises:
        ValueError: the modality's statistics and channels disagree.
    """
    data, train = config["data"], config.get("train", {})
    paths = data.get("paths") or []
    if paths:
        source = f"{len(paths)} path(s): " + ", ".join(str(p) for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
    else:
        source = f"built-in synthetic {modality.name} data ({data.get('synthetic_frames', '?')} frames)"
    provenance = {
        "method": config["method"]["name"],
        "modality": modality.name,
        "modality_options": {k: v for k, v in config["modality"].items() if k != "name"},
        "data": f"{source}; image_size {data['image_size']}",
        "steps": steps,
        "batch_size": train.get("batch_size"),
        "seed": train.get("seed"),
        "checkpoint": checkpoint,
    }
    dims, in_chans, stats = modality.spatial_dims, modality.in_chans, modality.stats
    return ExportSpec(
        architecture=config["model"]["backbone"],
        in_chans=in_chans,
        input_size=[in_chans] + [int(data["image_size"])] * dims,
        mean=stats["mean"],
        std=stats["std"],
        provenance=provenance,
        spatial_dims=dims,
        format=format or ("monai" if dims == 3 else "timm"),
        metrics=metrics,
    )


def write_export(backbone: nn.Module, out_dir: Path, spec: ExportSpec) -> Path:
    """Write ``backbone`` with the writer of ``spec.format`` (the path export_run and the training loop share)."""
    if spec.format == "timm":
        return export_backbone(backbone, out_dir, spec)
    if spec.format == "monai":
        return export_monai(backbone, out_dir, spec)
    return export_detectron2(backbone, out_dir, spec)


def run_modality(config: Mapping[str, Any], config_path: Path) -> Modality:
    """The run's modality, rebuilt from the resolved config's ``modality`` section (fitted statistics included).

    Raises:
        ValueError: the section has no mean/std, or names an unknown modality or option.
    """
    options = {k: v for k, v in config["modality"].items() if k != "name"}
    if not options.get("mean") or not options.get("std"):
        raise ValueError(
            f"{config_path}: modality.mean/std are missing; the export needs the modality's "
            "fitted statistics (the pretrain loop writes them)"
        )
    try:
        return get_modality(config["modality"]["name"], **options)
    except KeyError as exc:  # an unknown modality name
        raise ValueError(f"{config_path}: modality.name: {exc.args[0]}") from exc
    except ValueError as exc:  # ConfigError: an unknown or ill-typed option
        raise ValueError(f"{config_path}: {exc}") from exc


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
