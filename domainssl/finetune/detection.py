"""Object detection: torchvision Faster R-CNN on a timm ``features_only`` body + FPN, scored by COCO mAP.

The body is the exported backbone rebuilt as a timm feature pyramid (last four stages, strides
4–32); :class:`torchvision.ops.FeaturePyramidNetwork` with :class:`LastLevelMaxPool` gives five
levels, matched by anchors of 16–256 px (small objects at 128 x 96). Inputs arrive normalised by the
modality, so the detector's own transform uses mean 0 / std 1 and keeps the frame size (no resize).
Unlike torchvision's ResNet detectors (FrozenBatchNorm), the body's BatchNorm trains like the rest.

mAP@0.5 and mAP@0.5:0.95 come from :class:`torchmetrics.detection.MeanAveragePrecision`, which
needs ``pycocotools`` (or ``faster-coco-eval``) installed.

Examples:
    >>> det = build_detector("resnet18", in_chans=1, num_classes=6, weights=None, height=96, width=128)
    >>> det.eval()([torch.zeros(1, 96, 128)])[0].keys()
    dict_keys(['boxes', 'labels', 'scores'])
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn as nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from domainssl.data.labelled import Split
from domainssl.data.sampling import flip_draws
from domainssl.export.spec import ExportSpec
from domainssl.finetune.splits import load_splits_2d
from domainssl.finetune.task import Task
from domainssl.finetune.weights import load_export_into
from domainssl.modalities.base import Modality

OUT_INDICES = (-4, -3, -2, -1)  # the last four stages of the timm feature pyramid
ANCHOR_SIZES = ((16,), (32,), (64,), (128,), (256,))  # one size per FPN level (4 stages + max-pool level)


class TimmFPN(nn.Module):
    """timm feature pyramid + FPN: the backbone interface torchvision detectors expect (``out_channels``).

    Shape: N x C x H x W -> OrderedDict of 5 maps N x out_channels x H/s x W/s, s = 4, 8, 16, 32, 64.
    """

    def __init__(self, body: nn.Module, out_channels: int) -> None:
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(body.feature_info.channels(), out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(self.body(x))))


def build_detector(arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None, height: int, width: int,
                   fpn_channels: int = 128, box_score_thresh: float = 0.01, box_head_dim: int = 256,
                   rois_per_image: int = 128) -> FasterRCNN:
    """Faster R-CNN whose body is loaded strictly from ``weights`` (an export) or randomly initialised.

    Args:
        num_classes: object classes + 1 (background is class 0).
        height, width: the frame size; the detector transform keeps it.
        fpn_channels: FPN width.
        box_score_thresh: detections below this score are dropped before mAP.
        box_head_dim: width of the two-layer box head (torchvision's default is 1024, sized for COCO).
        rois_per_image: sampled RoIs per image for the box head loss (torchvision's default is 512); the
            box head dominates the step time on small frames with few objects.
    """
    body = timm.create_model(arch, pretrained=False, features_only=True, out_indices=OUT_INDICES, in_chans=in_chans)
    anchors = AnchorGenerator(sizes=ANCHOR_SIZES, aspect_ratios=((0.5, 1.0, 2.0),) * len(ANCHOR_SIZES))
    roi_size = 7  # MultiScaleRoIAlign output side
    detector = FasterRCNN(
        TimmFPN(body, fpn_channels), rpn_anchor_generator=anchors,
        box_head=TwoMLPHead(fpn_channels * roi_size**2, box_head_dim),
        box_predictor=FastRCNNPredictor(box_head_dim, num_classes), box_batch_size_per_image=rois_per_image,
        min_size=min(height, width), max_size=max(height, width),
        image_mean=[0.0] * in_chans, image_std=[1.0] * in_chans, box_score_thresh=box_score_thresh,
    )
    if weights is not None:
        load_export_into(body, weights, in_chans, features_only=True)
    return detector


def mean_average_precision():
    """``MeanAveragePrecision(iou_type="bbox")``, or a clear error naming the missing COCO backend."""
    from torchmetrics.detection import MeanAveragePrecision

    try:
        return MeanAveragePrecision(iou_type="bbox", box_format="xyxy")
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "detection mAP needs a COCO evaluation backend: pip install pycocotools "
            f"(or faster-coco-eval) ({exc})"
        ) from exc


class Detection(Task):
    """Boxes from COCO ``annotations.json``; Faster R-CNN losses; mAP@0.5 and mAP@0.5:0.95 on the held-out split."""

    headline = "map_50"

    def load_splits(self, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
        return load_splits_2d(self.recipe.data, "detection", modality, fit_stats)

    def build_model(self, arch: str, in_chans: int, num_classes: int, weights: ExportSpec | Path | None) -> nn.Module:
        m, d = self.recipe.model, self.recipe.data
        return build_detector(arch, in_chans, num_classes, weights, d.height, d.width, m.fpn_channels,
                              m.box_score_thresh, m.box_head_dim, m.rois_per_image)

    def encoder(self, model: nn.Module) -> nn.Module:
        return model.backbone.body

    def batch(self, split: Split, indices: np.ndarray, step: int, device: torch.device):
        images = split.images[indices].copy()  # B x C x H x W
        width = images.shape[-1]
        flips = flip_draws(self.recipe.train.seed, step, len(indices)) if self.recipe.train.hflip else np.zeros(len(indices), bool)
        inputs, targets = [], []
        for image, i, flip in zip(images, indices, flips):
            boxes = split.targets[i]["boxes"].copy()  # M x 4 xyxy
            if flip:
                image = image[..., ::-1]
                boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
            inputs.append(torch.from_numpy(np.ascontiguousarray(image)).to(device))
            targets.append({"boxes": torch.from_numpy(boxes).to(device),
                            "labels": torch.from_numpy(split.targets[i]["labels"]).to(device)})
        return inputs, targets

    def loss(self, model: nn.Module, inputs: list[torch.Tensor], targets: list[dict]) -> torch.Tensor:
        losses = model(inputs, targets)  # rpn objectness/box + roi classifier/box losses
        return sum(v.float() for v in losses.values())

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: Split, device: torch.device) -> dict[str, float]:
        metric = mean_average_precision()
        model.eval()
        bs = self.recipe.train.eval_batch_size
        for start in range(0, len(split), bs):
            images = [torch.from_numpy(im).to(device) for im in split.images[start : start + bs]]
            preds = [{k: v.float().cpu() if k != "labels" else v.cpu() for k, v in p.items()} for p in model(images)]
            truth = [{"boxes": torch.from_numpy(t["boxes"]), "labels": torch.from_numpy(t["labels"])}
                     for t in split.targets[start : start + bs]]
            metric.update(preds, truth)
        result = metric.compute()
        return {"map_50": float(result["map_50"]), "map_50_95": float(result["map"]), "map_75": float(result["map_75"]),
                "mar_100": float(result["mar_100"])}
