"""Shared fixtures: an isolated data cache and small 16-bit image folders."""

from __future__ import annotations

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
