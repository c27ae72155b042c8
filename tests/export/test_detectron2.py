"""detectron2 export: MoCo key convention checked against detectron2's own ResNet names."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import timm
import yaml

from domainssl.export import ExportSpec, export_detectron2, to_detectron2
from domainssl.export.detectron2 import detectron2_key

NORM = ("weight", "bias", "running_mean", "running_var")


def detectron2_resnet_keys(blocks: list[int], convs_per_block: int) -> set[str]:
    """Parameter/buffer names of detectron2's ResNet backbone (build_resnet_backbone, FrozenBN, no head)."""
    keys = {"stem.conv1.weight", *(f"stem.conv1.norm.{p}" for p in NORM)}
    for stage, n in enumerate(blocks, start=2):
        for b in range(n):
            prefix = f"res{stage}.{b}"
            for c in range(1, convs_per_block + 1):
                keys |= {f"{prefix}.conv{c}.weight", *(f"{prefix}.conv{c}.norm.{p}" for p in NORM)}
        if stage > 2 or convs_per_block == 3:  # R18/34 res2 keeps 64 channels at stride 1: no projection
            keys |= {f"res{stage}.0.shortcut.weight", *(f"res{stage}.0.shortcut.norm.{p}" for p in NORM)}
    return keys


def test_key_renames_follow_moco_convention():
    assert detectron2_key("conv1.weight") == "stem.conv1.weight"
    assert detectron2_key("bn1.running_var") == "stem.conv1.norm.running_var"
    assert detectron2_key("layer1.0.bn3.bias") == "res2.0.conv3.norm.bias"
    assert detectron2_key("layer4.2.conv2.weight") == "res5.2.conv2.weight"
    assert detectron2_key("layer2.0.downsample.0.weight") == "res3.0.shortcut.weight"
    assert detectron2_key("layer2.0.downsample.1.running_mean") == "res3.0.shortcut.norm.running_mean"


def test_resnet50_matches_detectron2_r50_names():
    net = timm.create_model("resnet50", num_classes=0, in_chans=1)
    converted = to_detectron2(net.state_dict(), "resnet50")
    expected = detectron2_resnet_keys([3, 4, 6, 3], convs_per_block=3)
    assert len(expected) == 265
    assert {"res2.0.shortcut.norm.running_var", "res4.5.conv2.weight", "res5.2.conv3.norm.weight"} <= expected
    assert set(converted) == expected
    assert converted["stem.conv1.weight"].shape == (64, 1, 7, 7)
    assert converted["res3.0.conv2.weight"].shape == (128, 128, 3, 3)  # stride sits in the 3x3: STRIDE_IN_1X1 False


def test_resnet18_pickle_and_config_note(tmp_path, backbone, export_args):
    out = export_detectron2(backbone, tmp_path / "d2", ExportSpec(**export_args))
    with open(out / "resnet18_domainssl_detectron2.pkl", "rb") as f:
        ckpt = pickle.load(f)
    assert ckpt["__author__"] == "domainssl" and ckpt["matching_heuristics"] is True
    model = ckpt["model"]
    assert set(model) == detectron2_resnet_keys([2, 2, 2, 2], convs_per_block=2)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in model.values())
    np.testing.assert_array_equal(model["res5.1.conv2.norm.running_var"], backbone.layer4[1].bn2.running_var.numpy())
    note = yaml.safe_load((out / "detectron2_config.yaml").read_text())
    assert note["MODEL"]["PIXEL_MEAN"] == [pytest.approx(0.31 * 255)]
    assert note["MODEL"]["PIXEL_STD"] == [pytest.approx(0.17 * 255)]
    assert note["MODEL"]["RESNETS"] == {"DEPTH": 18, "STRIDE_IN_1X1": False, "RES2_OUT_CHANNELS": 64}
    assert note["MODEL"]["WEIGHTS"].endswith("resnet18_domainssl_detectron2.pkl")
    assert note["INPUT"]["FORMAT"] == "L"


@pytest.mark.parametrize("arch", ["convnext_atto", "resnet50d"])
def test_non_resnet_is_refused(arch):
    net = timm.create_model(arch, num_classes=0, in_chans=1)
    with pytest.raises(ValueError, match="supports ResNet backbones"):
        to_detectron2(net.state_dict(), arch)


def test_unexpected_keys_are_refused():
    net = timm.create_model("resnet18", num_classes=4, in_chans=1)
    with pytest.raises(ValueError, match=r"fc\.weight"):
        to_detectron2(net.state_dict(), "resnet18")
