"""``finetune``: train a downstream model from an exported backbone (or from scratch), score it, write OUT/.

The loop is the same for every task (see :class:`~domainssl.finetune.task.Task`)::

    recipe + flags -> modality (the export's own normalisation) -> splits -> label subset
      -> model (backbone from the export, strict) -> AdamW, warmup + cosine, N optimiser steps
      -> metrics on the held-out test split (and val, when present) -> OUT/metrics.json, OUT/model.pt

Paired comparisons: the label subset, the batch order, the flips, the head initialisation and the random
draws during training (the detector's anchor and RoI sampling) depend only on ``seed`` (never on the weights),
so ``--weights EXPORT`` and ``--weights none`` with one seed see the same frames in the same order, and a
run repeated with its seed on the same machine and thread count gives the same numbers.

Examples:
    >>> metrics = finetune("recipes/finetune/tof_segmentation.yaml", weights="runs/tof/export",
    ...                    overrides={"train.label_fraction": 0.1, "train.steps": 300, "train.out": "runs/ft-seg"})
    >>> metrics["headline"]["name"], 0.0 <= metrics["headline"]["value"] <= 1.0
    ('miou', True)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domainssl.data.sampling import batch_schedule
from domainssl.device import autocast, resolve_device, warn_if_emulated
from domainssl.errors import ConfigError, NonFiniteLoss
from domainssl.export.spec import ExportSpec
from domainssl.finetune.config import FinetuneRecipe
from domainssl.finetune.task import Task
from domainssl.modalities import get_modality
from domainssl.modalities.base import Modality
from domainssl.schedules import warmup_cosine

#: Modality options that only concern pretraining's file cache, never the network input.
_CACHE_KEYS = ("cache", "cache_dir", "cache_size")


def get_task(recipe: FinetuneRecipe) -> Task:
    """The :class:`Task` for ``recipe.task.name``."""
    name = recipe.task.name
    if name == "segmentation":
        from domainssl.finetune.segmentation import Segmentation as cls
    elif name == "detection":
        from domainssl.finetune.detection import Detection as cls
    elif name == "classification":
        from domainssl.finetune.classification import Classification as cls
    else:
        from domainssl.finetune.volume import volume_task

        return volume_task(recipe)
    return cls(recipe)


def finetune(
    recipe: str | Path | FinetuneRecipe,
    *,
    weights: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Fine-tune, evaluate on the held-out split and write ``OUT/metrics.json`` + ``OUT/model.pt``.

    Args:
        recipe: a recipe YAML path or a resolved :class:`FinetuneRecipe`.
        weights: an export folder (``domainssl export``), or None / ``"none"`` for random init.
        overrides: dotted recipe keys, e.g. ``{"train.steps": 300, "train.label_fraction": 0.1,
            "train.seed": 3, "train.out": "runs/ft", "data.path": "frames/"}``; ``train.seed`` seeds the
            label subset, batch order, flips, head initialisation and the draws during training.
        verbose: print progress and the headline metric.

    Returns:
        The ``metrics.json`` content: ``headline`` {name, value}, ``test`` and ``val`` metrics, the
        recipe, weights, label fraction, steps, seed and training facts.

    Raises:
        ConfigError: a bad recipe key/value or an export that does not fit the recipe.
        InvalidInputError: missing or malformed data files (the message names the file).
    """
    if isinstance(recipe, FinetuneRecipe):
        recipe = FinetuneRecipe.resolve(recipe.to_dict(), overrides)
    else:
        recipe = FinetuneRecipe.load(recipe, overrides)
    weights_dir = None if weights is None or str(weights).lower() == "none" else Path(weights)
    export = ExportSpec.read(weights_dir) if weights_dir is not None else None
    t = recipe.train
    # flushed, so a redirected log shows each line as it comes
    log = functools.partial(print, flush=True) if verbose else (lambda *a, **k: None)
    dev = resolve_device(t.device)
    warn_if_emulated(t.precision, dev)

    task = get_task(recipe)
    modality, arch = resolve_modality(recipe, export, task.spatial_dims)
    fit = weights_dir is None and getattr(modality.options, "mean", None) is None
    splits = task.load_splits(modality, fit_stats=fit)
    full_train = splits["train"]
    train = task.subset(full_train, t.label_fraction, t.seed)
    total_steps = t.steps if t.steps is not None else t.epochs * max(1, len(train) // min(t.batch_size, len(train)))
    log(f"{recipe.task.name}: {len(train)}/{len(full_train)} labelled training items (fraction {t.label_fraction}), "
        f"{total_steps} steps, init {'from ' + str(weights_dir) if weights_dir else 'random'}, device {dev}")

    # One seed for the head init and every draw during training (the detector's anchor and RoI sampling);
    # the caller's random state is left as it was.
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(t.seed)
        model = task.build_model(arch, modality.in_chans, task.num_classes(full_train), export).to(dev)
        task.prepare(model, full_train, dev)
        final_loss, train_seconds = _train(model, task, recipe, train, total_steps, dev, log)

    with autocast(t.precision, dev):
        results = {name: task.evaluate(model, split, dev) for name, split in splits.items()
                   if name in ("val", "test") and split is not None}
    metrics = {
        "headline": {"name": task.headline, "value": results["test"][task.headline], "split": "test"},
        "test": results["test"],
        "val": results.get("val"),
        "task": recipe.task.name,
        "weights": str(weights_dir) if weights_dir else "none",
        "architecture": arch,
        "label_fraction": t.label_fraction,
        "num_train_labelled": len(train),
        "train_subset_sha1": hashlib.sha1("\n".join(train.files).encode()).hexdigest(),
        "num_train_total": len(full_train),
        "num_test": len(splits["test"]),
        "steps": total_steps,
        "seed": t.seed,
        "device": str(dev),
        "train_seconds": round(train_seconds, 2),
        "final_loss": final_loss,
        "class_names": full_train.class_names,
        "modality": {"name": modality.name, **modality.resolved_options()},
        "recipe": recipe.to_dict(),
    }
    metrics = _finite(metrics)
    out_dir = Path(t.out)
    write_outputs(out_dir, model, metrics)
    log(f"{task.headline} (test) = {metrics['headline']['value']:.4f}   ->  {out_dir / 'metrics.json'}")
    return metrics


def resolve_modality(recipe: FinetuneRecipe, export: ExportSpec | None, spatial_dims: int) -> tuple[Modality, str]:
    """The modality (normalisation as in pretraining) and the backbone architecture.

    With an export, the pretraining run's modality options (the export's ``domainssl.modality_options``)
    and the export's mean/std override the recipe's, so the
    network sees inputs normalised exactly as during pretraining. Without one, the recipe's options are used
    (mean/std fitted on the training split when the recipe leaves them unset).

    Raises:
        ConfigError: the export's modality or dimensionality does not match the recipe.
    """
    name = recipe.modality.name
    options = dataclasses.asdict(recipe.modality.options)
    arch = recipe.model.backbone
    if export is not None:
        exported = export.provenance.get("modality")
        if exported and exported != name:
            raise ConfigError(f"{export.folder}: the backbone was pretrained on modality {exported!r} but the recipe "
                              f"uses {name!r}; use a {exported} recipe or --set modality.name={exported}")
        is_3d = export.spatial_dims == 3
        if is_3d != (spatial_dims == 3):
            raise ConfigError(f"{export.folder}: a {'3D MONAI' if is_3d else '2D timm'} export does not fit this "
                              f"{spatial_dims}D recipe; use {'volume_segmentation_3d.yaml' if is_3d else 'a 2D or 2.5D recipe'}")
        pretrain_options = export.provenance.get("modality_options") or {}
        options.update({k: v for k, v in pretrain_options.items() if k not in _CACHE_KEYS and k != "name"})
        options["mean"], options["std"] = list(export.mean), list(export.std)
        arch = export.architecture
    try:
        modality = get_modality(name, **options)
    except KeyError as exc:
        raise ConfigError(f"modality.name: {exc.args[0]}") from exc
    return modality, arch


def write_outputs(out_dir: Path, model: torch.nn.Module, metrics: dict[str, Any]) -> None:
    """``metrics.json`` and ``model.pt`` (``{"model": state_dict, "metrics": ...}``), each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    tmp = out_dir / f".model.pt.{os.getpid()}"
    torch.save({"model": state, "metrics": metrics}, tmp)
    os.replace(tmp, out_dir / "model.pt")
    tmp = out_dir / f".metrics.json.{os.getpid()}"
    tmp.write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, out_dir / "metrics.json")


def _train(model: torch.nn.Module, task: Task, recipe: FinetuneRecipe, train, total_steps: int,
           dev: torch.device, log) -> tuple[float | None, float]:
    """``total_steps`` optimiser steps on the labelled subset ``train``.

    Returns:
        (mean loss over the last tenth of the steps, or None without steps; training seconds).
    """
    t = recipe.train
    optimizer, scheduler = _optimiser(model, task, recipe, total_steps)
    model.train()
    losses: list[float] = []
    start = time.perf_counter()
    every = max(1, total_steps // 10)
    for step, indices in batch_schedule(len(train), t.batch_size, total_steps, t.seed):
        inputs, targets = task.batch(train, indices, step, dev)
        with autocast(t.precision, dev):
            loss = task.loss(model, inputs, targets)
        if not torch.isfinite(loss):
            raise NonFiniteLoss(f"step {step}: the loss is {loss.item()}; lower train.lr (now {t.lr}) or check the labels")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if (step + 1) % every == 0 or step + 1 == total_steps:
            elapsed = time.perf_counter() - start
            left = elapsed / (step + 1) * (total_steps - step - 1)
            log(f"  step {step + 1}/{total_steps}  loss {np.mean(losses[-every:]):.4f}  "
                f"{_duration(elapsed)} elapsed, about {_duration(left)} left")
    return (float(np.mean(losses[-every:])) if losses else None), time.perf_counter() - start


def _duration(seconds: float) -> str:
    """``42 s``, ``7 min 05 s`` or ``1 h 02 min``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _optimiser(model: torch.nn.Module, task: Task, recipe: FinetuneRecipe, total_steps: int):
    """AdamW with the backbone at ``lr * encoder_lr_scale``; linear warmup then cosine decay to 0."""
    t = recipe.train
    encoder_ids = {id(p) for p in task.encoder(model).parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if id(p) in encoder_ids], "lr": t.lr * t.encoder_lr_scale},
        {"params": [p for p in trainable if id(p) not in encoder_ids], "lr": t.lr},
    ]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=t.weight_decay)
    warmup = max(1, int(round(t.warmup_fraction * total_steps)))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, total_steps, warmup))
    return optimizer, schedule


def _finite(value: Any) -> Any:
    """Recursively replace NaN/Inf floats with None (metrics.json is strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def export_modality(export: ExportSpec) -> Modality:
    """The modality an export (:meth:`ExportSpec.read`) was pretrained on, normalising exactly as in pretraining.

    Raises:
        ConfigError: the export records no modality (not written by domainssl).
    """
    name = export.provenance.get("modality")
    if not name:
        raise ConfigError(f"{export.folder}/config.json: no domainssl.modality record; re-export it with `domainssl export`")
    recipe = FinetuneRecipe.resolve({"task": "classification", "modality": {"name": name}})
    modality, _ = resolve_modality(recipe, export, export.spatial_dims)
    return modality
