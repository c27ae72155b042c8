"""ExportSpec: config.json read once, validated, written back unchanged; old exports without spatial_dims."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import domainssl.export
from domainssl.export import ExportSpec, export_monai, load_backbone
from domainssl.models.backbone3d import create_backbone_3d


@pytest.fixture(scope="module")
def monai_dir(tmp_path_factory):
    net = create_backbone_3d("resnet10", in_chans=1)
    spec = ExportSpec(architecture="resnet10", in_chans=1, input_size=(1, 16, 16, 16), mean=[0.2], std=[0.9],
                      provenance={"method": "byol", "modality": "ct"}, spatial_dims=3, metrics={"loss": float("nan")})
    return export_monai(net, tmp_path_factory.mktemp("spec") / "ct", spec)


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


@pytest.mark.parametrize("layout", ["timm", "monai"])
def test_read_then_write_round_trips_config_json(layout, export_dir, monai_dir, tmp_path):
    folder = export_dir if layout == "timm" else monai_dir
    spec = ExportSpec.read(folder)
    assert spec.folder == folder and spec.format == layout and spec.spatial_dims == (2 if layout == "timm" else 3)
    assert spec.to_config() == _config(folder)
    spec.write(tmp_path / "copy", load_file(str(spec.weights_file)))
    assert _config(tmp_path / "copy") == _config(folder)
    again = ExportSpec.read(tmp_path / "copy")
    assert again == spec and again.folder == tmp_path / "copy"  # folder is where it was read, not part of the spec


def test_spec_fields_come_from_either_layout(export_dir, monai_dir):
    timm_spec, monai_spec = ExportSpec.read(export_dir), ExportSpec.read(monai_dir)
    assert (timm_spec.architecture, timm_spec.in_chans, timm_spec.input_size) == ("resnet18", 1, (1, 64, 64))
    assert (timm_spec.mean, timm_spec.std, timm_spec.num_features) == ((0.31,), (0.17,), 512)
    assert timm_spec.provenance["method"] == "byol" and timm_spec.metrics == {"loss": 0.42, "collapse_std": 0.85}
    assert timm_spec.arch_cfg["first_conv"] == "conv1"
    assert (monai_spec.architecture, monai_spec.input_size, monai_spec.mean) == ("resnet10", (1, 16, 16, 16), (0.2,))
    assert monai_spec.model_args["n_input_channels"] == 1 and monai_spec.arch_cfg == {"first_conv": "conv1"}
    assert monai_spec.metrics == {"loss": None}  # NaN was written as null


@pytest.mark.parametrize("layout, dims", [("timm", 2), ("monai", 3)])
def test_exports_without_spatial_dims_are_read_with_the_right_dims(layout, dims, export_dir, monai_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(export_dir if layout == "timm" else monai_dir, old)
    config = _config(old)
    del config["domainssl"]["spatial_dims"]
    (old / "config.json").write_text(json.dumps(config))
    spec = ExportSpec.read(old)
    assert spec.spatial_dims == dims and spec.format == layout
    assert spec.to_config()["domainssl"]["spatial_dims"] == dims  # recorded when written again


def test_loaders_take_a_spec_instead_of_a_folder(export_dir, monai_dir):
    for folder in (export_dir, monai_dir):
        from_spec, from_folder = load_backbone(ExportSpec.read(folder)), load_backbone(folder)
        assert all(torch.equal(v, from_folder.state_dict()[k]) for k, v in from_spec.state_dict().items())
    unread = ExportSpec(architecture="resnet18", in_chans=1, input_size=(1, 8, 8), mean=[0.0], std=[1.0],
                        provenance={"method": "byol", "modality": "tof"})
    with pytest.raises(ValueError, match="not read from an export folder"):
        load_backbone(unread)


@pytest.mark.parametrize(
    "damage, error, message",
    [
        (lambda c: "{not json", ValueError, r"config.json: not valid JSON"),
        (lambda c: {k: v for k, v in c.items() if k != "architecture"}, ValueError, r"config.json: no 'architecture' key"),
        (lambda c: {**c, "pretrained_cfg": {k: v for k, v in c["pretrained_cfg"].items() if k != "mean"}},
         ValueError, r"config.json: no 'pretrained_cfg.mean' key"),
        (lambda c: {**c, "pretrained_cfg": {**c["pretrained_cfg"], "std": [0.1, 0.2]}},
         ValueError, r"config.json: channel counts disagree"),
    ],
)
def test_bad_config_json_is_named(damage, error, message, export_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(export_dir, bad)
    damaged = damage(_config(bad))
    (bad / "config.json").write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    with pytest.raises(error, match=message):
        ExportSpec.read(bad)


def test_missing_files_are_named(tmp_path, export_dir):
    with pytest.raises(FileNotFoundError, match="config.json: no such file"):
        ExportSpec.read(tmp_path)
    incomplete = tmp_path / "incomplete"
    shutil.copytree(export_dir, incomplete)
    (incomplete / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors: no such file"):
        ExportSpec.read(incomplete)


def test_construction_checks_dims_against_input_size():
    with pytest.raises(ValueError, match=r"expected \(C, D, H, W\)"):
        ExportSpec(architecture="resnet10", in_chans=1, input_size=(1, 16, 16), mean=[0.0], std=[1.0],
                   provenance={}, spatial_dims=3)


def test_export_modules_import_each_other_without_cycles():
    package = Path(domainssl.export.__file__).parent
    imports = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        imports[path.stem] = {node.module.rsplit(".", 1)[1] for node in ast.walk(tree)
                              if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("domainssl.export.")}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(m == target or (m not in seen and reaches(m, target, seen | {m})) for m in imports.get(start, ()))

    assert not [m for m in imports if m != "__init__" and reaches(m, m, set())]
