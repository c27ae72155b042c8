"""Semantic segmentation: segmentation-models-pytorch UNet on the timm encoder ``tu-<arch>``, scored by mIoU.

The exported backbone goes into smp's encoder (a timm ``features_only`` model) strictly: the export
is rebuilt as a ``features_only`` model with smp's ``out_indices`` by
:func:`domainssl.export.load_backbone`, and its state dict is loaded into ``unet.encoder.model``
with ``strict=True`` (:func:`~domainssl.finetune.weights.load_export_into`).

Examples:
    >>> unet = build_unet("resnet18", in_chans=1, num_classes=6, weights=Path("runs/tof/export"))
    >>> unet(torch.zeros(2, 1, 96, 128)).shape
    torch.Size([2, 6, 96, 128])
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from domainssl.data.labelled import Split
from domainssl.data.sampling import flip_draws
from domainssl.export.spec import ExportSpec
from domainssl.finetune.splits import load_splits_2d
from domainssl.finetune.task import Task, predictions
from domainssl.finetune.weights import load_export_into
from domainssl.modalities.base import Modality


class PaddedUnet(nn.Module):
    """An smp UNet that zero-pads its input to a multiple of the encoder's stride and crops the logits back.

    Shape: N x C x H x W (any H, W) -> N x K x H x W logits.
    """

    def __init__(self, unet: smp.Unet, divisor: int) -> None:
        super().__init__()
        self.unet = unet
        self.divisor = divisor

    @property
    def encoder(self) -> nn.Module:
        return self.unet.encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % self.divisor, -w % self.divisor
        x = F.pad(x, (0, pad_w, 0, pad_h))  # N x C x H' x W'
        return self.unet(x)[..., :h, :w]  # N x K x H x W


def build_unet(arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None,
               decoder_channels: Sequence[int] = (256, 128, 64, 32, 16)) -> PaddedUnet:
    """smp ``Unet("tu-<arch>")``, encoder loaded strictly from ``weights`` (an export folder) or random.

    Args:
        arch: timm architecture (with ``weights``, the export's own).
        in_chans: input channels.
        num_classes: output classes including background.
        weights: an export (its folder or its read ExportSpec), or None for random init.
        decoder_channels: one entry per encoder stage used (depth = its length, at most 5).
    """
    depth = len(decoder_channels)
    unet = smp.Unet(f"tu-{arch}", encoder_weights=None, encoder_depth=depth, in_channels=in_chans,
                    classes=num_classes, decoder_channels=tuple(decoder_channels))
    if weights is not None:
        load_export_into(unet.encoder.model, weights, in_chans, features_only=True)
    return PaddedUnet(unet, divisor=2**depth)


class Segmentation(Task):
    """Per-pixel classes from ``masks/semantic/*.png``; cross-entropy; mIoU over the held-out split."""

    headline = "miou"

    def load_splits(self, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
        return load_splits_2d(self.recipe.data, "segmentation", modality, fit_stats)

    def build_model(self, arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None) -> nn.Module:
        return build_unet(arch, in_chans, num_classes, weights, self.recipe.model.decoder_channels)

    def encoder(self, model: nn.Module) -> nn.Module:
        return model.encoder.model  # the timm features_only model inside smp's encoder

    def batch(self, split: Split, indices: np.ndarray, step: int, device: torch.device):
        images = split.images[indices].copy()  # B x C x H x W
        masks = split.targets[indices].copy()  # B x H x W
        if self.recipe.train.hflip:
            flips = flip_draws(self.recipe.train.seed, step, len(indices))
            images[flips] = images[flips][..., ::-1]
            masks[flips] = masks[flips][..., ::-1]
        return torch.from_numpy(images).to(device), torch.from_numpy(masks).to(device)

    def loss(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(inputs).float(), targets)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: Split, device: torch.device) -> dict[str, float]:
        k = len(split.class_names)
        miou = MulticlassJaccardIndex(num_classes=k, average="macro").to(device)
        per_class = MulticlassJaccardIndex(num_classes=k, average="none").to(device)
        pixel_acc = MulticlassAccuracy(num_classes=k, average="micro").to(device)
        for pred, target in predictions(model, split, self.recipe.train.eval_batch_size, device):
            for metric in (miou, per_class, pixel_acc):
                metric.update(pred, target)
        ious = per_class.compute().cpu().tolist()
        out = {"miou": float(miou.compute()), "pixel_accuracy": float(pixel_acc.compute())}
        out.update({f"iou_{name}": float(v) for name, v in zip(split.class_names, ious)})
        return out
