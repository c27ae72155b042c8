"""Shared fixtures: an isolated data cache, small 16-bit image folders and the benchmark script as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch


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


@pytest.fixture(scope="module")
def bench():
    """``benchmarks/ssl_vs_scratch.py`` imported as a module."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "ssl_vs_scratch.py"
    spec = importlib.util.spec_from_file_location("ssl_vs_scratch", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]
