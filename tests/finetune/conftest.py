"""Tiny exports (2D ToF, 2.5D CT, 3D CT) and tiny recipe overrides for the fine-tuning smoke tests."""

from __future__ import annotations

import pytest
import timm
import torch

from domainssl.export import ExportSpec, export_backbone, export_monai
from domainssl.models import create_backbone

#: 64x48 frames, n <= 16, a few steps, timm resnet10t: each run takes a few seconds on one core.
TINY_2D = {
    "data.width": 64, "data.height": 48, "data.train_frames": 16, "data.val_frames": 0, "data.test_frames": 8,
    "model.backbone": "resnet10t", "train.batch_size": 4, "train.eval_batch_size": 8, "model.fpn_channels": 32,
    "model.decoder_channels": [32, 16, 16, 8, 8],
}
TINY_VOLUME = {
    "data.train_frames": 2, "data.val_frames": 0, "data.test_frames": 1, "data.volume_size": 32,
    "data.patch_size": 32, "train.batch_size": 2, "train.eval_batch_size": 8,
    "model.decoder_channels": [32, 16, 16, 8, 8],
}


def _export_2d(path, in_chans: int, modality: str):
    torch.manual_seed(1)
    net = timm.create_model("resnet10t", pretrained=False, num_classes=0, in_chans=in_chans)
    with torch.no_grad():  # not random-init looking: BN statistics a trained net would have
        for name, t in net.state_dict().items():
            if name.endswith("running_mean"):
                t.uniform_(-0.1, 0.1)
    return export_backbone(net, path, ExportSpec(architecture="resnet10t", in_chans=in_chans, input_size=(in_chans, 48, 64),
                                                 mean=[0.45] * in_chans, std=[0.25] * in_chans,
                                                 provenance={"method": "byol", "modality": modality}))


@pytest.fixture(scope="session")
def tof_export(tmp_path_factory):
    """A freshly exported 1-channel ToF resnet10t."""
    return _export_2d(tmp_path_factory.mktemp("tof") / "export", 1, "tof")


@pytest.fixture(scope="session")
def ct25d_export(tmp_path_factory):
    """A 3-slice (2.5D) CT resnet10t export."""
    return _export_2d(tmp_path_factory.mktemp("ct25") / "export", 3, "ct")


@pytest.fixture(scope="session")
def ct3d_export(tmp_path_factory):
    """A MONAI 3D resnet10 CT export."""
    torch.manual_seed(2)
    net = create_backbone("resnet10", 1, spatial_dims=3)
    return export_monai(net, tmp_path_factory.mktemp("ct3d") / "export",
                        ExportSpec(architecture="resnet10", in_chans=1, input_size=(1, 32, 32, 32), mean=[0.3], std=[0.2],
                                   provenance={"method": "byol", "modality": "ct"}, spatial_dims=3))
