"""Downstream libraries take the export without surgery: smp encoders and torchvision detectors."""

from __future__ import annotations

from collections import OrderedDict

import segmentation_models_pytorch as smp
import torch
from safetensors.torch import load_file
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from domainssl.export import load_backbone


def test_smp_unet_encoder_loads_strictly(export_dir, backbone):
    unet = smp.Unet("tu-resnet18", in_channels=1, encoder_weights=None, classes=2)
    result = unet.encoder.model.load_state_dict(load_file(str(export_dir / "model.safetensors")), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(unet.encoder.model.layer3[0].conv1.weight, backbone.layer3[0].conv1.weight)
    with torch.no_grad():
        assert unet.eval()(torch.rand(1, 1, 64, 64)).shape == (1, 2, 64, 64)


class TimmFPN(nn.Module):
    """timm features_only body + FPN with the ``out_channels`` attribute torchvision detectors read."""

    def __init__(self, body: nn.Module, out_channels: int):
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(body.feature_info.channels(), out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(self.body(x))))


def test_torchvision_faster_rcnn_on_one_channel(export_dir):
    body = load_backbone(export_dir, features_only=True, out_indices=(1, 2, 3, 4))
    detector = FasterRCNN(
        TimmFPN(body, out_channels=32), num_classes=3, min_size=64, max_size=64,
        image_mean=[0.31], image_std=[0.17], rpn_pre_nms_top_n_test=50, rpn_post_nms_top_n_test=20,
    ).eval()
    with torch.no_grad():
        (out,) = detector([torch.rand(1, 64, 64)])
    assert set(out) == {"boxes", "labels", "scores"}
    assert out["boxes"].shape[1] == 4 and out["boxes"].dtype == torch.float32
    assert torch.all(out["labels"] < 3)
    assert detector.backbone.body.conv1.in_channels == 1
