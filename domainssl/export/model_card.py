"""Model cards (``README.md``) for exported backbones: what was trained, on what, and how to load it.

Every usage block is a complete, copy-paste Python snippet with the export folder's path filled in;
the tests execute them, so the card cannot drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

_SKIP_PROVENANCE = {"method", "modality", "metrics", "format", "version", "data", "steps"}


def timm_card(config: Mapping[str, Any], export_dir: str | Path) -> str:
    """Markdown card for a timm local-dir export, built from its ``config.json`` mapping."""
    d = str(export_dir)
    arch = config["architecture"]
    pcfg = config["pretrained_cfg"]
    c, h, w = pcfg["input_size"]
    mean, std = pcfg["mean"], pcfg["std"]
    other = 3 if c == 1 else 1
    extra_args = {k: v for k, v in config["model_args"].items() if k != "in_chans"}
    extra = "".join(f", {k}={v!r}" for k, v in extra_args.items())
    sections = [
        _front_matter(config, library="timm"),
        _summary(config, arch, pcfg["input_size"], mean, std),
        *_preprocessing(config, d),
        "## Usage",
        "### timm (>= 1.0.26)",
        _code(
            f"""import timm
import torch

model = timm.create_model("local-dir:{d}", pretrained=True).eval()
data_cfg = timm.data.resolve_data_config(model=model)  # input_size, mean, std of this modality
with torch.no_grad():
    features = model(torch.randn(2, *data_cfg["input_size"]))  # 2 x {config["num_features"]}"""
        ),
        f"timm adapts the stem when you ask for other channels (`in_chans={other}`): "
        + ("a 1-channel stem is repeated and divided by the new channel count." if c == 1 else "the stem is summed over channels."),
        "### Older timm (>= 0.9)",
        _code(
            f"""import timm

model = timm.create_model(
    "{arch}", pretrained=True, num_classes=0, in_chans={c}{extra},
    pretrained_cfg_overlay=dict(
        file="{d}/model.safetensors", num_classes=0,
        input_size=({c}, {h}, {w}), mean={tuple(mean)!r}, std={tuple(std)!r},
    ),
)"""
        ),
        "### domainssl",
        _code(
            f"""from domainssl import load_backbone

model = load_backbone("{d}")  # strict: every tensor loaded
model_{other}ch = load_backbone("{d}", in_chans={other})  # stem adapted exactly, never re-initialised
pyramid = load_backbone("{d}", features_only=True)  # timm features_only model, same weights"""
        ),
        "### segmentation-models-pytorch (>= 0.4)",
        _code(
            f"""import segmentation_models_pytorch as smp

# the encoder weights come through timm's local-dir loader
unet = smp.Unet("tu-local-dir:{d}", encoder_weights=True, in_channels={c}, classes=2)"""
        ),
        "Or build from the timm name and load the encoder yourself (for ResNets the key names match exactly):",
        _code(
            f"""import segmentation_models_pytorch as smp
from safetensors.torch import load_file

unet = smp.Unet("tu-{arch}", encoder_weights=None, in_channels={c}, classes=2)
unet.encoder.model.load_state_dict(load_file("{d}/model.safetensors"), strict=True)"""
        ),
        "### torchvision Faster R-CNN (timm features + FPN)",
        _code(
            f"""from collections import OrderedDict

import timm
import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool


class TimmFPN(nn.Module):
    \"\"\"timm feature pyramid + FPN, the backbone interface torchvision detectors expect.\"\"\"

    def __init__(self, body: nn.Module, out_channels: int = 256):
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(body.feature_info.channels(), out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(self.body(x))))


body = timm.create_model("local-dir:{d}", pretrained=True, features_only=True, out_indices=(-4, -3, -2, -1))
detector = FasterRCNN(
    TimmFPN(body), num_classes=2, min_size={h}, max_size={max(h, w)},
    image_mean={list(mean)!r}, image_std={list(std)!r},
).eval()
with torch.no_grad():
    detections = detector([torch.rand({c}, {h}, {w})])"""
        ),
        "The model expects the modality's normalised image (values the `mean`/`std` above describe), "
        "not 8-bit RGB.",
    ]
    return "\n\n".join(sections) + "\n"


def monai_card(config: Mapping[str, Any], export_dir: str | Path) -> str:
    """Markdown card for a MONAI 3D export, with the exact constructor call."""
    d = str(export_dir)
    ctor = config["constructor"]
    module, _, fn = ctor.rpartition(".")
    kwargs = ", ".join(f"{k}={v!r}" for k, v in config["constructor_kwargs"].items())
    c, *spatial = config["input_size"]
    sections = [
        _front_matter(config, library="monai"),
        _summary(config, config["architecture"], config["input_size"], config["mean"], config["std"]),
        "## Usage",
        "### MONAI",
        _code(
            f"""import torch
from safetensors.torch import load_file
from {module} import {fn}

net = {fn}({kwargs})
net.load_state_dict(load_file("{d}/model.safetensors"), strict=True)
net.eval()
with torch.no_grad():
    features = net(torch.randn(1, {c}, {", ".join(map(str, spatial))}))  # 1 x {config["num_features"]}"""
        ),
        "### domainssl",
        _code(
            f"""from domainssl import load_backbone

net = load_backbone("{d}")  # builds the MONAI network above and loads it strictly"""
        ),
        "Normalise volumes as in pretraining (the `mean`/`std` above describe the network input).",
    ]
    return "\n\n".join(sections) + "\n"


def _preprocessing(config: Mapping[str, Any], export_dir: str) -> list[str]:
    """How raw files become the network input: the modality's own normalisation, then mean/std."""
    record = config.get("domainssl") or {}
    if "modality" not in record:
        return []
    return [
        "## Input preprocessing",
        f"The `mean`/`std` apply to the *{record['modality']}* modality's [0, 1]-scaled channels, not to raw "
        "values. Prepare inputs exactly as in pretraining with the modality recorded in `config.json`:",
        _code(
            f"""import json
import domainssl

record = json.load(open("{export_dir}/config.json"))["domainssl"]
modality = domainssl.get_modality(record["modality"], **record["modality_options"])
raw = modality.read("frame.png")  # lossless, e.g. uint16 millimetres for ToF
x = modality.normalise(raw, modality.validity(raw))  # float32 C x H x W, ready for the model"""
        ),
    ]


def _front_matter(config: Mapping[str, Any], library: str) -> str:
    record = config["domainssl"]
    licence = config.get("pretrained_cfg", config).get("license", "other")
    tags = ["image-feature-extraction", library, "domainssl", "self-supervised", record["method"], record["modality"]]
    return "\n".join(["---", f"license: {licence}", f"library_name: {library}", "tags:", *(f"- {t}" for t in tags), "---"])


def _summary(config: Mapping[str, Any], arch: str, input_size, mean, std) -> str:
    record = config["domainssl"]
    licence = config.get("pretrained_cfg", config).get("license", "other")
    rows = [
        ("architecture", f"`{arch}` ({config['num_features']} features, no head)"),
        ("method", record["method"]),
        ("modality", record["modality"]),
        ("channels", f"{input_size[0]} (input size {list(input_size)})"),
        ("mean / std", f"{list(mean)} / {list(std)}"),
        ("data", record.get("data", "not recorded")),
        ("steps", record.get("steps", "not recorded")),
        ("domainssl", record.get("version", "unknown")),
        ("licence", f"{licence} — the weights inherit the terms of the training data; set it before sharing"),
    ]
    rows += [(k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in record.items() if k not in _SKIP_PROVENANCE]
    lines = [
        f"# {arch} pretrained with {record['method']} on {record['modality']}",
        "Self-supervised backbone exported by domainssl.",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in rows),
    ]
    metrics = record.get("metrics") or {}
    if metrics:
        lines += ["", "Final metrics:", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {'n/a' if v is None else f'{v:.4g}'} |" for k, v in metrics.items()]
    return "\n\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:])


def _code(text: str) -> str:
    return f"```python\n{text}\n```"

