"""MONAI 3D export: the recorded constructor call rebuilds the network, which loads strictly."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from safetensors.torch import load_file

from domainssl.export import ExportSpec, export_monai, load_backbone
from domainssl.export.monai_state import build_monai, monai_resnet_kwargs
from domainssl.models.backbone3d import create_backbone_3d

ARGS = dict(architecture="resnet10", in_chans=1, input_size=(1, 32, 32, 32), mean=[0.2], std=[0.9],
            provenance={"method": "simsiam", "modality": "ct", "steps": 3}, spatial_dims=3)


@pytest.fixture(scope="module")
def net3d(perturb):
    return perturb(create_backbone_3d("resnet10", in_chans=1))


@pytest.fixture(scope="module")
def monai_dir(tmp_path_factory, net3d):
    return export_monai(net3d, tmp_path_factory.mktemp("monai") / "ct", ExportSpec(**ARGS, metrics={"loss": -0.9}))


def volume(c=1):
    return torch.randn(2, c, 24, 24, 24, generator=torch.Generator().manual_seed(2))  # N x C x D x H x W


def test_config_records_the_constructor_call(monai_dir):
    cfg = json.loads((monai_dir / "config.json").read_text())
    assert cfg["constructor"] == "monai.networks.nets.resnet10"
    kw = cfg["constructor_kwargs"]
    assert kw["spatial_dims"] == 3 and kw["n_input_channels"] == 1 and kw["feed_forward"] is False
    assert kw["conv1_t_stride"] == [2, 2, 2]  # domainssl's 3D factory strides the stem
    assert cfg["input_size"][0] == len(cfg["mean"]) == len(cfg["std"]) == 1
    assert cfg["num_features"] == 512 and cfg["domainssl"]["modality"] == "ct"
    assert cfg["domainssl"]["format"] == "monai" and cfg["domainssl"]["spatial_dims"] == 3
    card = (monai_dir / "README.md").read_text()
    assert "resnet10(spatial_dims=3, n_input_channels=1" in card and "strict=True" in card


def test_plain_monai_network_loads_strictly_and_matches(monai_dir, net3d):
    cfg = json.loads((monai_dir / "config.json").read_text())
    rebuilt = build_monai(cfg["constructor"], cfg["constructor_kwargs"])
    result = rebuilt.load_state_dict(load_file(str(monai_dir / "model.safetensors")), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(volume()), net3d(volume()))


def test_card_snippet_runs(monai_dir, net3d):
    card = (monai_dir / "README.md").read_text()
    code = card.split("```python\n")[1].split("\n```")[0]
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["features"].shape == (1, 512)
    with torch.no_grad():
        assert torch.equal(ns["net"](volume()), net3d(volume()))


def test_load_backbone_dispatches_and_adapts(monai_dir, net3d):
    net = load_backbone(monai_dir)
    assert net.num_features == 512
    with torch.no_grad():
        assert torch.equal(net.eval()(volume()), net3d(volume()))
        # float64: the adapted stem sums its inputs in another order, which fp32 amplifies through the net
        net2 = load_backbone(monai_dir, in_chans=2).eval().double()
        reference = copy.deepcopy(net3d).double()
        torch.testing.assert_close(net2(volume().double().repeat(1, 2, 1, 1, 1)), reference(volume().double()))
    with pytest.raises(ValueError, match="MONAI export"):
        load_backbone(monai_dir, features_only=True)


@pytest.mark.parametrize(
    "norm, message",
    [(("batch", {"eps": 0.5}), "different outputs"), (("group", {"num_groups": 4}), "does not rebuild")],
)
def test_non_default_norm_is_caught(tmp_path, norm, message):
    net = create_backbone_3d("resnet10", in_chans=1, norm=norm)
    with pytest.raises(ValueError, match=message):
        export_monai(net, tmp_path / "x", ExportSpec(**ARGS))
    kwargs = {**monai_resnet_kwargs(net), "norm": list(norm)}
    assert load_backbone(export_monai(net, tmp_path / "y", ExportSpec(**ARGS, model_args=kwargs))).num_features == 512


def test_wrong_channel_count_is_named(tmp_path, net3d):
    with pytest.raises(ValueError, match="channel counts disagree"):
        export_monai(net3d, tmp_path / "x", ExportSpec(**{**ARGS, "mean": [0.1, 0.2]}))
