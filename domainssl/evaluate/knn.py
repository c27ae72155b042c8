"""Weighted kNN accuracy of frozen features, with BatchNorm recalibration.

An uncalibrated BatchNorm (e.g. a random-init backbone's running stats of 0/1) gives meaningless
features, so every backbone gets its running statistics recomputed on clean training frames first.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from domainssl.device import autocast, resolve_precision
from domainssl.models import create_backbone
from domainssl.paths import cache_dir


@torch.no_grad()
def recalibrate_batchnorm(backbone: nn.Module, images: torch.Tensor, batch_size: int = 64) -> nn.Module:
    """Recompute BN running mean/var as the exact average over ``images`` (train-mode passes, no grad).

    Args:
        backbone: modified in place and returned in eval mode.
        images: N x C x H x W (or N x C x D x H x W) float32.
    """
    norms = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = exact mean over the passes
    backbone.train()
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        if len(chunk) > 1:
            backbone(chunk)
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return backbone.eval()


#: Which features a probe reads: ``last`` = the backbone's pooled output; ``last2`` = the last two stages,
#: each average-pooled and l2-normalised, concatenated (timm backbones with ``forward_intermediates``).
READOUTS = ("last", "last2")


@torch.no_grad()
def extract_features(backbone: nn.Module, images: torch.Tensor, batch_size: int = 128,
                     readout: str = "last") -> torch.Tensor:
    """L2-normalised features, N x F, from an eval-mode backbone (see :data:`READOUTS`)."""
    if readout not in READOUTS:
        raise ValueError(f"readout {readout!r}: choose one of {READOUTS}")
    backbone.eval()
    feats = [_readout(backbone, images[i : i + batch_size], readout).float() for i in range(0, len(images), batch_size)]
    return F.normalize(torch.cat(feats), dim=1)


def _readout(backbone: nn.Module, x: torch.Tensor, readout: str) -> torch.Tensor:
    if readout == "last":
        return backbone(x)
    stages = backbone.forward_intermediates(x, indices=2, intermediates_only=True)  # last two stages
    return torch.cat([F.normalize(s.float().flatten(2).mean(-1), dim=1) for s in stages], dim=1)  # N x (C3 + C4)


def knn_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    val_feats: torch.Tensor,
    val_labels: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Accuracy of the similarity-weighted kNN classifier (Wu et al. 2018) on normalised features.

    Args:
        train_feats / val_feats: N x F and M x F, l2-normalised.
        train_labels / val_labels: int64 (N,) and (M,).
    """
    num_classes = int(max(train_labels.max(), val_labels.max())) + 1
    sims = val_feats @ train_feats.T  # M x N
    top_sims, top_idx = sims.topk(min(k, len(train_feats)), dim=1)  # M x k
    weights = (top_sims / temperature).exp()
    votes = torch.zeros(len(val_feats), num_classes).scatter_add_(1, train_labels[top_idx], weights)
    return float((votes.argmax(1) == val_labels).float().mean())


def evaluate_backbone(backbone: nn.Module, sets, k: int = 20, readout: str = "last") -> float:
    """kNN accuracy of a (copied, BN-recalibrated) backbone on an :class:`EvaluationSets`.

    Runs on CPU under the same automatic precision as training (bf16 where the CPU has it).
    """
    backbone = copy.deepcopy(backbone).float().cpu()
    train_x, val_x = torch.from_numpy(sets.train_x), torch.from_numpy(sets.val_x)
    spatial_dims = train_x.ndim - 2
    if spatial_dims == 2:
        backbone = backbone.to(memory_format=torch.channels_last)
        train_x, val_x = (x.contiguous(memory_format=torch.channels_last) for x in (train_x, val_x))
    device = torch.device("cpu")
    with autocast(resolve_precision("auto", device, spatial_dims), device):
        backbone = recalibrate_batchnorm(backbone, train_x)
        train, val = (extract_features(backbone, x, readout=readout) for x in (train_x, val_x))
    return knn_accuracy(train, torch.from_numpy(sets.train_y), val, torch.from_numpy(sets.val_y), k=k)


def raw_pixel_knn(sets, k: int = 20) -> float:
    """kNN on flattened, l2-normalised input pixels: the no-learning baseline."""
    train = F.normalize(torch.from_numpy(sets.train_x).flatten(1), dim=1)
    val = F.normalize(torch.from_numpy(sets.val_x).flatten(1), dim=1)
    return knn_accuracy(train, torch.from_numpy(sets.train_y), val, torch.from_numpy(sets.val_y), k=k)


def evaluate_before_after(config, modality, encoder: nn.Module) -> dict[str, Any] | None:
    """kNN accuracy of a freshly initialised backbone vs the pretrained ``encoder`` on the modality's
    labelled split, next to the majority-class rate and raw-pixel kNN. None if the modality has no split.
    """
    from domainssl.data.synthetic.provider import evaluation_sets

    sets = evaluation_sets(modality, cache_dir(), config.data.image_size, config.train.seed,
                           frames=tuple(config.train.eval_frames))
    if sets is None:
        return None
    torch.manual_seed(config.train.seed)  # the same initial weights the pretraining started from
    random_init = create_backbone(config.model.backbone, modality.in_chans, modality.spatial_dims)
    counts = np.bincount(sets.val_y)
    readout = config.train.eval_readout
    return {
        "knn_random_init": evaluate_backbone(random_init, sets, readout=readout),
        "knn_pretrained": evaluate_backbone(encoder, sets, readout=readout),
        "knn_raw_pixels": raw_pixel_knn(sets),
        "majority_class": float(counts.max() / counts.sum()),
        "num_train": int(len(sets.train_y)),
        "num_val": int(len(sets.val_y)),
        "classes": list(sets.class_names),
        "readout": readout,
    }
