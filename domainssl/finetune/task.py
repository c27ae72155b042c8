"""The task interface the fine-tuning loop drives: data, model, loss and held-out metrics.

One subclass per task (segmentation, detection, classification, volume segmentation). The loop in
:mod:`domainssl.finetune.run` is the same for all of them; a task only says how to load its splits,
build its network from a backbone export (or from scratch), turn a batch into a loss, and score a split.

BatchNorm: the loop trains in train mode, so BatchNorm layers use batch statistics and update their
running averages during fine-tuning (the standard choice for fine-tuning CNNs with batches >= 8).
A frozen backbone (linear probe) is kept in eval mode with its statistics recalibrated first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np
import torch
import torch.nn as nn

from domainssl.data.labelled import Split
from domainssl.data.sampling import subset_indices
from domainssl.export.spec import ExportSpec
from domainssl.finetune.config import FinetuneRecipe
from domainssl.modalities.base import Modality


class Task(ABC):
    """Base class of the fine-tuning tasks.

    Attributes:
        headline: the metric printed and stored as ``metrics.json["headline"]`` (``miou``, ``map_50``, ...).
        spatial_dims: 2 for timm backbones, 3 for MONAI 3D backbones.
    """

    headline: ClassVar[str]
    spatial_dims: ClassVar[int] = 2

    def __init__(self, recipe: FinetuneRecipe) -> None:
        self.recipe = recipe

    @abstractmethod
    def load_splits(self, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
        """``{"train": Split, "val": Split or None, "test": Split}``; ``fit_stats`` fits the modality on train first."""

    @abstractmethod
    def build_model(self, arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None) -> nn.Module:
        """The downstream network; the backbone's weights come from ``weights`` (an export) or random init."""

    @abstractmethod
    def encoder(self, model: nn.Module) -> nn.Module:
        """The backbone part of ``model`` (its learning rate is scaled by ``train.encoder_lr_scale``)."""

    @abstractmethod
    def batch(self, split: Split, indices: np.ndarray, step: int, device: torch.device) -> tuple[Any, Any]:
        """``(inputs, targets)`` of one training step, augmented with draws seeded by (seed, step) only."""

    @abstractmethod
    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        """Scalar training loss."""

    @abstractmethod
    def evaluate(self, model: nn.Module, split: Split, device: torch.device) -> dict[str, float]:
        """Metrics of ``model`` (in eval mode) on a held-out split; includes :attr:`headline`."""

    def num_classes(self, train: Split) -> int:
        """Output classes of the network (segmentation/detection include background)."""
        return len(train.class_names)

    def subset(self, split: Split, fraction: float, seed: int) -> Split:
        """The reproducible label-fraction subset of the training split."""
        return split.subset(subset_indices(len(split), fraction, seed))

    def prepare(self, model: nn.Module, train: Split, device: torch.device) -> None:
        """Hook before training (e.g. recalibrate a frozen backbone's BatchNorm); default: nothing."""


@torch.no_grad()
def predictions(model: nn.Module, split: Split, batch_size: int, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(argmax prediction, target)`` batches of an eval-mode ``model`` over an in-memory split."""
    model.eval()
    for start in range(0, len(split), batch_size):
        images = torch.from_numpy(split.images[start : start + batch_size]).to(device)
        target = torch.from_numpy(split.targets[start : start + batch_size]).to(device)
        yield model(images).argmax(1), target  # B (classification) or B x H x W (segmentation)
