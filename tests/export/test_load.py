"""load_backbone: strict loading, exact stem adaptation, features_only with the same weights."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from domainssl.export import ExportSpec, adapt_stem_weight, export_backbone, load_backbone


def test_strict_round_trip_is_bit_identical(export_dir, backbone, features, fixed_input):
    model = load_backbone(export_dir)
    assert model.conv1.in_channels == 1
    assert "state_dict" not in model.pretrained_cfg
    assert model.pretrained_cfg["mean"] == [0.31]
    x = fixed_input()
    assert torch.equal(features(model, x), features(backbone, x))


@pytest.mark.parametrize("n", [2, 3])
def test_gray_stem_to_n_channels_keeps_features(export_dir, backbone, features, fixed_input, n):
    model = load_backbone(export_dir, in_chans=n)
    assert model.conv1.in_channels == n
    assert len(model.pretrained_cfg["mean"]) == model.pretrained_cfg["input_size"][0] == n
    torch.testing.assert_close(model.conv1.weight, backbone.conv1.weight.repeat(1, n, 1, 1) / n)
    x = fixed_input()
    torch.testing.assert_close(features(model, x.repeat(1, n, 1, 1)), features(backbone, x), rtol=1e-4, atol=1e-5)


def test_n_channels_to_gray_sums_the_stem(tmp_path, trained, features, fixed_input, export_args):
    net3 = trained(in_chans=3)
    args = {**export_args, "in_chans": 3, "input_size": (3, 64, 64), "mean": [0.1, 0.2, 0.3], "std": [0.3, 0.2, 0.1]}
    out = export_backbone(net3, tmp_path / "rgb", ExportSpec(**args))
    gray = load_backbone(out, in_chans=1)
    torch.testing.assert_close(gray.conv1.weight, net3.conv1.weight.sum(1, keepdim=True))
    assert gray.pretrained_cfg["mean"] == [pytest.approx(0.2)]
    x = fixed_input()
    torch.testing.assert_close(features(gray, x), features(net3, x.repeat(1, 3, 1, 1)), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="cannot adapt a 3-channel stem to 2 channels"):
        load_backbone(out, in_chans=2)


def test_adapt_stem_weight_3d_and_identity():
    w = torch.randn(8, 1, 3, 3, 3)  # O x 1 x k x k x k
    assert adapt_stem_weight(w, 1) is w
    w4 = adapt_stem_weight(w, 4)
    assert w4.shape == (8, 4, 3, 3, 3) and torch.allclose(w4.sum(1, keepdim=True), w)
    with pytest.raises(ValueError, match="in_chans must be >= 1"):
        adapt_stem_weight(w, 0)


def test_features_only_uses_the_same_weights(export_dir, backbone, features, fixed_input):
    pyramid = load_backbone(export_dir, features_only=True, out_indices=(1, 2, 3, 4))
    assert pyramid.feature_info.channels() == [64, 128, 256, 512]
    exported = load_file(str(export_dir / "model.safetensors"))
    assert set(pyramid.state_dict()) == set(exported)  # resnet: features_only keys == backbone keys
    assert all(torch.equal(pyramid.state_dict()[k], v) for k, v in exported.items())
    x = fixed_input()
    with torch.no_grad():
        last = pyramid.eval()(x)[-1]  # N x 512 x 2 x 2
        expected = backbone.eval().forward_features(x)
    assert torch.equal(last, expected)


def test_new_head_keeps_every_backbone_weight(export_dir, backbone):
    model = load_backbone(export_dir, num_classes=5)
    assert model.fc.out_features == 5
    assert torch.equal(model.layer4[1].conv2.weight, backbone.layer4[1].conv2.weight)


def test_missing_files_are_named(tmp_path, export_dir):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_backbone(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(export_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_backbone(broken)


def test_wrong_architecture_fails_loudly(tmp_path, export_dir):
    wrong = tmp_path / "wrong"
    shutil.copytree(export_dir, wrong)
    cfg = json.loads((wrong / "config.json").read_text())
    cfg["architecture"] = "resnet34"
    (wrong / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="(?s)do not load strictly into resnet34.*Missing key"):
        load_backbone(wrong)
