"""The timm local-dir export: config.json contents and bit-exact reload in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import load_file

from domainssl.export import ExportSpec, export_backbone, load_backbone

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def fresh(export_dir, tmp_path_factory, fixed_input):
    """Results of fresh_process.py run on the export (a process that never imports domainssl)."""
    work = tmp_path_factory.mktemp("fresh")
    torch.save(fixed_input(), work / "x.pt")
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(HERE / "fresh_process.py"), str(export_dir), str(work)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return torch.load(work / "results.pt", weights_only=False)


def test_folder_holds_the_three_files(export_dir):
    assert sorted(p.name for p in export_dir.iterdir()) == ["README.md", "config.json", "model.safetensors"]


def test_config_pretrained_cfg_is_the_modalitys(export_dir, export_args):
    cfg = json.loads((export_dir / "config.json").read_text())
    pcfg = cfg["pretrained_cfg"]
    assert cfg["architecture"] == "resnet18" and cfg["num_classes"] == 0 and cfg["num_features"] == 512
    assert cfg["model_args"]["in_chans"] == 1
    assert pcfg["input_size"] == [1, 64, 64]
    assert pcfg["input_size"][0] == len(pcfg["mean"]) == len(pcfg["std"]) == 1
    assert pcfg["mean"] == export_args["mean"] and pcfg["std"] == export_args["std"]
    assert not {"tag", "hf_hub_id", "url", "file", "source"} & set(pcfg)
    assert pcfg["first_conv"] == "conv1"
    record = cfg["domainssl"]
    assert record["method"] == "byol" and record["modality"] == "tof" and record["steps"] == 12
    assert record["metrics"] == {"loss": 0.42, "collapse_std": 0.85}
    assert record["version"] and record["format"] == "timm" and record["spatial_dims"] == 2


def test_weights_are_plain_timm_keys(export_dir, backbone):
    weights = load_file(str(export_dir / "model.safetensors"))
    assert set(weights) == set(backbone.state_dict())
    assert not any(k.startswith(("module.", "encoder.", "backbone.", "fc.", "head")) for k in weights)
    assert all(torch.equal(weights[k], v) for k, v in backbone.state_dict().items())


@pytest.mark.slow
def test_fresh_process_local_dir_is_bit_identical(fresh, backbone, features, fixed_input, export_args):
    assert not fresh["domainssl_imported"]
    assert fresh["in_chans"] == 1 and fresh["same_weights"]
    assert list(fresh["pretrained_cfg"]["input_size"]) == [1, 64, 64]
    assert list(fresh["pretrained_cfg"]["mean"]) == export_args["mean"]
    assert torch.equal(fresh["features"], features(backbone, fixed_input()))


@pytest.mark.slow
def test_fresh_process_in_chans_3_gives_the_gray_features(fresh, backbone, features, fixed_input):
    # timm repeats the 1-channel stem and divides by 3: a gray image copied into 3 channels is unchanged
    torch.testing.assert_close(fresh["features_3ch"], features(backbone, fixed_input()), rtol=1e-4, atol=1e-5)


def test_model_card_snippets_run_without_domainssl(fresh, backbone, features, fixed_input):
    ref = features(backbone, fixed_input())
    blocks = fresh["blocks"]
    timm_blocks = [b for b in blocks if "features" in b]
    assert len(timm_blocks) == 2  # local-dir and the older-timm pretrained_cfg_overlay call
    for block in timm_blocks:
        assert torch.equal(block["features"], ref), block["code"]
    unets = [b for b in blocks if "unet_same_weights" in b]
    assert len(unets) == 2 and all(b["unet_same_weights"] for b in unets)
    detectors = [b for b in blocks if "detections" in b]
    assert len(detectors) == 1 and detectors[0]["detections"] == ["boxes", "labels", "scores"]


def test_model_card_has_provenance_and_licence(export_dir):
    card = (export_dir / "README.md").read_text()
    assert card.startswith("---\nlicense: other\nlibrary_name: timm\n")
    for text in ("byol", "tof", "| steps | 12 |", "| loss | 0.42 |", "local-dir:", "tu-resnet18", "FasterRCNN",
                 "pretrained_cfg_overlay", "load_backbone"):
        assert text in card, text


def test_channels_last_backbone_exports_contiguous(tmp_path, trained, export_args):
    net = trained().to(memory_format=torch.channels_last)
    assert not net.layer1[0].conv1.weight.is_contiguous()
    out = export_backbone(net, tmp_path / "e", ExportSpec(**{**export_args, "input_size": [1, 32, 32]}))
    reloaded = timm.create_model(f"local-dir:{out}", pretrained=True)
    assert torch.equal(reloaded.layer1[0].conv1.weight, net.layer1[0].conv1.weight)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(mean=[0.1, 0.2]), "channel counts disagree"),
        (dict(input_size=(3, 64, 64)), "channel counts disagree"),
        (dict(std=[0.0]), "must be > 0"),
        (dict(provenance={"method": "byol"}), "modality"),
        (dict(architecture="not_a_model"), "not a timm model"),
    ],
)
def test_bad_arguments_are_named(tmp_path, backbone, export_args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export_backbone(backbone, tmp_path / "e", ExportSpec(**{**export_args, **kwargs}))
    assert not (tmp_path / "e" / "model.safetensors").exists()


def test_backbone_with_a_head_is_refused(tmp_path, export_args):
    net = timm.create_model("resnet18", num_classes=10, in_chans=1)
    with pytest.raises(ValueError, match="num_classes=0"):
        export_backbone(net, tmp_path / "e", ExportSpec(**export_args))


def test_model_card_domainssl_snippet_runs(export_dir, backbone):
    card = (export_dir / "README.md").read_text()
    (code,) = [b.split("\n```")[0] for b in card.split("```python\n")[1:] if "from domainssl import" in b]
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert torch.equal(ns["model"].layer2[0].conv1.weight, backbone.layer2[0].conv1.weight)
    assert ns["model_3ch"].conv1.in_channels == 3
    assert len(ns["pyramid"].feature_info.channels()) == 5


def test_non_resnet_round_trip(tmp_path, trained, export_args, features, fixed_input):
    net = trained(arch="convnext_atto")
    out = export_backbone(net, tmp_path / "cnx", ExportSpec(**{**export_args, "architecture": "convnext_atto"}))
    assert json.loads((out / "config.json").read_text())["pretrained_cfg"]["first_conv"] == "stem.0"
    x = fixed_input(size=32)
    assert torch.equal(features(timm.create_model(f"local-dir:{out}", pretrained=True), x), features(net, x))
    pyramid = load_backbone(out, features_only=True).eval()  # timm loads strictly before wrapping
    with torch.no_grad():
        assert torch.equal(pyramid(x)[-1], net.forward_features(x))
