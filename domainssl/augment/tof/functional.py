"""Pure ToF depth operations for views: the view geometry here, the sensor physics re-exported.

The physical operations (noise, flying pixels, multipath, invalidation, phase wrap, range, quantisation,
:func:`simulate_sensor`) live in :mod:`domainssl.physics.tof_measurement`, the bottom layer that the
synthetic world shares; this module adds the geometric ones of a view and exposes the whole set as one
functional namespace (``from domainssl.augment.tof import functional as F``).

Geometric resampling is nearest-neighbour with border value 0, so invalid zeros are never smeared into
fake near surfaces. Inputs are (H, W) or (H, W, C) arrays; they are never mutated.

Examples:
    >>> depth = np.array([[0.0, 1000.0], [1500.0, 2000.0]], np.float32)
    >>> hflip(depth).tolist()
    [[1000.0, 0.0], [2000.0, 1500.0]]
"""

from __future__ import annotations

import cv2
import numpy as np

from domainssl.physics.tof_measurement import (  # noqa: F401  (the public functional namespace)
    SPEED_OF_LIGHT_MM_S,
    add_axial_noise,
    add_flying_pixels,
    add_holes,
    add_multipath,
    add_saturation,
    add_speckle,
    amcw_sigma_mm,
    clip_range,
    invalidate_low_signal,
    kinect_axial_sigma_mm,
    phase_wrap,
    quantise_mm,
    scale_depth,
    simulate_sensor,
    surface_angle,
    unambiguous_range_mm,
)

# ---------------------------------------------------------------------------------------- geometric


def resized_crop(depth_mm: np.ndarray, y0: int, x0: int, h: int, w: int, out_h: int, out_w: int) -> np.ndarray:
    """Crop rows ``y0:y0+h``, columns ``x0:x0+w`` and resize to (out_h, out_w) with nearest neighbour.

    Nearest resampling copies measured values only: zeros never blend into fake near surfaces.
    Works on (H, W) and (H, W, C) arrays of any dtype cv2 accepts (bool is handled).
    """
    array = np.asarray(depth_mm)
    crop = array[y0 : y0 + h, x0 : x0 + w]
    as_bool = crop.dtype == bool
    out = cv2.resize(crop.astype(np.uint8) if as_bool else crop, (out_w, out_h), interpolation=cv2.INTER_NEAREST)
    if array.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out.astype(bool) if as_bool else out


def rotate(depth_mm: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the image centre (counter-clockwise, degrees), nearest neighbour, border 0.

    Uses the same matrix as ``albumentations.Rotate`` (centre ``((W−1)/2, (H−1)/2)``), so masks
    rotated by albumentations stay aligned with depth rotated here.
    """
    array = np.asarray(depth_mm)
    h, w = array.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, 1.0)
    as_bool = array.dtype == bool
    src = array.astype(np.uint8) if as_bool else array
    out = cv2.warpAffine(src, matrix, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if array.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out.astype(bool) if as_bool else out


def hflip(depth_mm: np.ndarray) -> np.ndarray:
    """Mirror left-right (a copy)."""
    return np.ascontiguousarray(np.asarray(depth_mm)[:, ::-1])
