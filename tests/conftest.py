"""Shared fixtures: an isolated data cache, small 16-bit image folders and the benchmark modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

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
