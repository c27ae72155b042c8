"""Frame classification: a linear head on the pooled backbone features, scored by accuracy.

``task.mode: finetune`` trains backbone and head (train-mode BatchNorm); ``task.mode: linear`` is a
linear probe: the backbone is frozen in eval mode after its BatchNorm statistics are recalibrated
on the training frames (:func:`domainssl.evaluate.knn.recalibrate_batchnorm`), and only the head learns.

Examples:
    >>> net = Classifier(create_backbone("resnet18", in_chans=1), num_classes=5, frozen_backbone=True)
    >>> net(torch.zeros(2, 1, 96, 128)).shape
    torch.Size([2, 5])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from domainssl.data.labelled import Split
from domainssl.data.sampling import flip_draws, subset_indices
from domainssl.evaluate.knn import recalibrate_batchnorm
from domainssl.export.spec import ExportSpec
from domainssl.finetune.splits import load_splits_2d
from domainssl.finetune.task import Task, predictions
from domainssl.finetune.weights import load_export_into
from domainssl.modalities.base import Modality
from domainssl.models import create_backbone


class Classifier(nn.Module):
    """Backbone (pooled features, N x F) + linear head (N x K); a frozen backbone stays in eval mode.

    Args:
        backbone: a timm model built with ``num_classes=0``.
        num_classes: K.
        frozen_backbone: no gradients into the backbone and ``train()`` keeps it in eval mode.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, frozen_backbone: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.num_features, num_classes)
        self.frozen_backbone = frozen_backbone
        self.backbone.requires_grad_(not frozen_backbone)

    def train(self, mode: bool = True) -> "Classifier":
        super().train(mode)
        if self.frozen_backbone:
            self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))  # N x K


class Classification(Task):
    """One class per frame from ``labels.csv``; cross-entropy; accuracy over the held-out split."""

    headline = "accuracy"

    def load_splits(self, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
        splits = load_splits_2d(self.recipe.data, "classification", modality, fit_stats)
        self._calibration = splits["train"].images  # all training frames (no labels needed) for BN recalibration
        return splits

    def subset(self, split: Split, fraction: float, seed: int) -> Split:
        """Stratified: the same fraction of every class, at least one frame each."""
        return split.subset(subset_indices(len(split), fraction, seed, labels=split.targets))

    def build_model(self, arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None) -> nn.Module:
        model = Classifier(create_backbone(arch, in_chans), num_classes, frozen_backbone=self.recipe.task.mode == "linear")
        if weights is not None:
            load_export_into(model.backbone, weights, in_chans)
        return model

    def encoder(self, model: nn.Module) -> nn.Module:
        return model.backbone

    def prepare(self, model: nn.Module, train: Split, device: torch.device) -> None:
        if model.frozen_backbone:
            recalibrate_batchnorm(model.backbone, torch.from_numpy(self._calibration).to(device))

    def batch(self, split: Split, indices: np.ndarray, step: int, device: torch.device):
        images = split.images[indices].copy()  # B x C x H x W
        if self.recipe.train.hflip:
            flips = flip_draws(self.recipe.train.seed, step, len(indices))
            images[flips] = images[flips][..., ::-1]
        return torch.from_numpy(images).to(device), torch.from_numpy(split.targets[indices]).to(device)

    def loss(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(inputs).float(), targets)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: Split, device: torch.device) -> dict[str, float]:
        k = len(split.class_names)
        acc = MulticlassAccuracy(num_classes=k, average="micro").to(device)
        balanced = MulticlassAccuracy(num_classes=k, average="macro").to(device)
        for pred, target in predictions(model, split, self.recipe.train.eval_batch_size, device):
            acc.update(pred, target)
            balanced.update(pred, target)
        counts = np.bincount(split.targets, minlength=k)
        return {"accuracy": float(acc.compute()), "balanced_accuracy": float(balanced.compute()),
                "majority_class": float(counts.max() / counts.sum())}
