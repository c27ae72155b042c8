"""Preview grids for 2D (gray, tof) and 3D views."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from domainssl.modalities import get_modality
from domainssl.preview import write_preview


def _grid(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.ndim == 3
    return image


@pytest.mark.parametrize("channels", [["depth"], ["depth", "valid"]])
def test_tof_preview_grid_grows_with_views_and_channels(tmp_path, channels):
    tof = get_modality("tof", channels=channels)
    frames = [np.full((48, 64), 1000.0 + 500 * i, np.float32) for i in range(3)]
    for f in frames:
        f[:5, :5] = 0.0
    two = _grid(write_preview(tof, frames, tof.views("byol", 32, 2), 2, tmp_path / "a" / "two.png",
                              np.random.default_rng(0), n_sources=2))
    four = _grid(write_preview(tof, frames, tof.views("byol", 32, 4), 4, tmp_path / "four.png",
                               np.random.default_rng(0), n_sources=3))
    assert four.shape[1] > two.shape[1] and four.shape[0] > two.shape[0]  # more columns, more rows
    if channels == ["depth", "valid"]:
        single = _grid(write_preview(get_modality("tof"), frames, get_modality("tof").views("byol", 32, 2), 2,
                                     tmp_path / "single.png", np.random.default_rng(0), n_sources=2))
        assert two.shape[1] > single.shape[1]  # the valid channel gets its own panels


def test_gray_and_3d_views(tmp_path):
    gray = get_modality("gray")
    images = [np.random.default_rng(i).integers(0, 65535, (40, 40, 1), dtype=np.uint16) for i in range(2)]
    out = write_preview(gray, images, gray.views("simclr", 32, 2), 2, tmp_path / "gray.png", np.random.default_rng(0))
    assert _grid(out).shape[0] > 0

    def volume_views(sample, rng):  # a 3D method's views: (C, D, H, W)
        return [rng.random((1, 8, 16, 16), dtype=np.float32) for _ in range(2)]

    out3d = write_preview(gray, images, volume_views, 2, tmp_path / "volume.png", np.random.default_rng(0))
    assert _grid(out3d).shape[0] > 0


def test_preview_needs_samples(tmp_path):
    with pytest.raises(ValueError, match="at least one sample"):
        write_preview(get_modality("tof"), [], lambda s, r: [], 2, tmp_path / "x.png", np.random.default_rng(0))
