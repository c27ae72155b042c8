"""Shared fixtures: a trained-looking 1-channel resnet18, its timm export, and factories for more."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import timm
import torch
import torch.nn as nn

from domainssl.export import ExportSpec, export_backbone

MEAN, STD = [0.31], [0.17]


def _perturb(model: nn.Module, seed: int) -> nn.Module:
    """Make random-init weights look trained: noise on every tensor, non-trivial BN statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                t.fill_(123)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.is_floating_point():
                t.add_(0.05 * torch.randn(t.shape, generator=g))
    return model


@pytest.fixture(scope="session")
def perturb() -> Callable[..., nn.Module]:
    return lambda model, seed=0: _perturb(model, seed).eval()


@pytest.fixture(scope="session")
def trained() -> Callable[..., nn.Module]:
    """``trained(in_chans=1, arch="resnet18", seed=0)``: a timm backbone (num_classes=0) with perturbed weights."""

    def make(in_chans: int = 1, arch: str = "resnet18", seed: int = 0) -> nn.Module:
        return _perturb(timm.create_model(arch, pretrained=False, num_classes=0, in_chans=in_chans), seed).eval()

    return make


@pytest.fixture(scope="session")
def fixed_input() -> Callable[..., torch.Tensor]:
    """``fixed_input(in_chans=1, size=64, n=2)``: the same N x C x H x W tensor every call."""
    return lambda in_chans=1, size=64, n=2: torch.randn(n, in_chans, size, size, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="session")
def export_args() -> dict[str, Any]:
    """ExportSpec fields of the 1-channel resnet18."""
    return dict(
        architecture="resnet18", in_chans=1, input_size=(1, 64, 64), mean=MEAN, std=STD,
        provenance={"method": "byol", "modality": "tof", "data": "synthetic tof (64 frames)", "steps": 12},
    )


@pytest.fixture(scope="session")
def backbone(trained) -> nn.Module:
    return trained()


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory, backbone, export_args):
    out = tmp_path_factory.mktemp("export") / "resnet18-tof"
    return export_backbone(backbone, out, ExportSpec(**export_args, metrics={"loss": 0.42, "collapse_std": 0.85}))


@pytest.fixture(scope="session")
def features() -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    """``features(model, x)``: eval-mode forward with one CPU thread (bit-comparable across processes)."""

    def run(model: nn.Module, x: torch.Tensor):
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                return model.eval()(x)
        finally:
            torch.set_num_threads(old)

    return run
