"""export_run on a run directory written the way the training loop writes it."""

from __future__ import annotations

import json
import pickle

import pytest
import timm
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file

from domainssl.cli import main
from domainssl.export import export_run
from domainssl.models.backbone3d import create_backbone_3d


def write_run(run, encoder, *, modality, backbone="resnet18", image_size=32, prefix="encoder.", step=5):
    """RUN/config.yaml + RUN/checkpoints/last.pt with encoder, projector and target-network keys."""
    config = {
        "modality": modality,
        "method": {"name": "byol", "tau_base": 0.996},
        "data": {"paths": [], "image_size": image_size, "synthetic_frames": 64},
        "model": {"backbone": backbone},
        "optim": {"name": "adamw"},
        "train": {"batch_size": 8, "steps": step, "epochs": 1, "seed": 3},
    }
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    state = {f"{prefix}{k}": v for k, v in encoder.state_dict().items()}
    state |= {"projector.0.weight": torch.randn(16, 512), "projector.0.bias": torch.zeros(16),
              "target_encoder.conv1.weight": torch.zeros_like(encoder.conv1.weight)}
    ckpt = {"method": state, "optimizer": {}, "scheduler": {}, "step": step, "rng": {}, "config": config,
            "metrics": {"loss": 0.5, "knn_acc": float("nan")}}
    torch.save(ckpt, run / "checkpoints" / "last.pt")
    return run


TOF = {"name": "tof", "mean": [0.4], "std": [0.2]}


@pytest.fixture()
def run2d(tmp_path, trained):
    encoder = trained(seed=7)
    return write_run(tmp_path / "run", encoder, modality=TOF), encoder


def test_default_export_is_a_timm_folder_without_heads(run2d):
    run, encoder = run2d
    out = export_run(run)
    assert out == run / "export"
    weights = load_file(str(out / "model.safetensors"))
    assert set(weights) == set(encoder.state_dict())  # projector / target keys dropped, prefix stripped
    model = timm.create_model(f"local-dir:{out}", pretrained=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in encoder.state_dict().items())
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["pretrained_cfg"]["input_size"] == [1, 32, 32] and cfg["pretrained_cfg"]["mean"] == [0.4]
    record = cfg["domainssl"]
    assert (record["method"], record["modality"], record["steps"], record["seed"]) == ("byol", "tof", 5, 3)
    assert record["metrics"] == {"loss": 0.5, "knn_acc": None}  # NaN is not valid JSON
    assert "synthetic tof" in record["data"]


def test_cli_detectron2_writes_a_pickle(run2d, tmp_path):
    run, encoder = run2d
    result = CliRunner().invoke(main, ["export", str(run), "--format", "detectron2", "--out", str(tmp_path / "d2")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "d2" / "resnet18_domainssl_detectron2.pkl", "rb") as f:
        model = pickle.load(f)["model"]
    assert (model["stem.conv1.weight"] == encoder.conv1.weight.detach().numpy()).all()
    assert (tmp_path / "d2" / "detectron2_config.yaml").is_file()


def test_explicit_checkpoint_and_out(run2d, tmp_path):
    run, _ = run2d
    periodic = run / "checkpoints" / "step_000005.pt"
    (run / "checkpoints" / "last.pt").rename(periodic)
    with pytest.raises(FileNotFoundError, match="last.pt: no such checkpoint"):
        export_run(run)
    out = export_run(run, out=tmp_path / "elsewhere", checkpoint=periodic)
    assert json.loads((out / "config.json").read_text())["domainssl"]["checkpoint"] == "step_000005.pt"


def test_missing_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.yaml: no such file"):
        export_run(tmp_path)


def test_checkpoint_without_encoder_keys_is_named(tmp_path, trained):
    run = write_run(tmp_path / "run", trained(), modality=TOF, prefix="backbone.")
    with pytest.raises(ValueError, match=r"last.pt: no 'encoder\.\*' weights"):
        export_run(run)


def test_checkpoint_that_does_not_fit_the_config(tmp_path, trained):
    run = write_run(tmp_path / "run", trained(), modality=TOF, backbone="resnet34")
    with pytest.raises(ValueError, match="do not fit resnet34"):
        export_run(run)


def test_missing_statistics_are_named(tmp_path, trained):
    run = write_run(tmp_path / "run", trained(), modality={"name": "tof"})
    with pytest.raises(ValueError, match="modality.mean/std are missing"):
        export_run(run)


def test_3d_run_defaults_to_monai(tmp_path):
    encoder = create_backbone_3d("resnet10", in_chans=1).eval()
    modality = {"name": "ct", "volume_mode": "3d", "mean": [0.1], "std": [1.1]}
    run = write_run(tmp_path / "run", encoder, modality=modality, backbone="resnet10", image_size=16)
    out = export_run(run)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["library"] == "monai" and cfg["input_size"] == [1, 16, 16, 16]
    assert set(load_file(str(out / "model.safetensors"))) == set(encoder.state_dict())
    for fmt in ("timm", "detectron2"):
        with pytest.raises(ValueError, match=f"--format {fmt} does not fit this 3D run"):
            export_run(run, format=fmt, out=tmp_path / fmt)
