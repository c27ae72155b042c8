"""Shared fixtures: an isolated data cache, small 16-bit image folders, tiny exports and the benchmark modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import timm
import torch

from domainssl.export import ExportSpec, export_backbone, export_monai
from domainssl.models import create_backbone

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Generated datasets go to a per-session folder, never the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DOMAINSSL_CACHE", str(tmp_path_factory.mktemp("cache")))
    torch.set_num_threads(min(2, torch.get_num_threads()))
    yield
    mp.undo()


@pytest.fixture
def gray16_dir(tmp_path):
    """24 random 16-bit gray PNGs, 40x40, using the full uint16 range."""
    folder = tmp_path / "gray16"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 65536, size=(40, 40), dtype=np.uint16))
    return folder


@pytest.fixture(scope="session")
def bench():
    """``benchmarks/ssl_vs_scratch.py`` imported as a module, its folder on ``sys.path`` as when run as a script."""
    sys.path.insert(0, str(BENCHMARKS))
    yield importlib.import_module("ssl_vs_scratch")
    sys.path.remove(str(BENCHMARKS))


@pytest.fixture
def report(bench):
    """``benchmarks/ssl_vs_scratch_report.py``, the module that writes the benchmark's report."""
    return bench.report


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
