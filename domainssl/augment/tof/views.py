"""ToF view recipe: one random view of a depth frame, and the object-aware crop centre.

A view is: random resized crop (optionally placed around a foreground point) → flip → small
rotation → depth-scale jitter → sensor-like perturbations (multipath, axial noise, flying pixels,
low-signal invalidation, speckle, holes, saturation, phase wrap) → quantisation to 1 mm. All
resampling is nearest-neighbour, so invalid zeros never smear. Normalisation is the modality's job.

The object-aware crop finds foreground without labels: points are back-projected at low resolution,
the dominant planes (floor, walls) are fitted with RANSAC, and valid pixels standing off every plane
are foreground. Both views of a pair are centred near the same foreground pixel.

Examples:
    >>> from domainssl.physics.tof_sensors import get_sensor
    >>> rng = np.random.default_rng(0)
    >>> frame = np.full((96, 128), 2000.0, np.float32)
    >>> view = make_view(frame, rng, ViewRecipe(), get_sensor("generic"), out_size=64)
    >>> view.shape, view.dtype
    ((64, 64), dtype('float32'))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from domainssl.augment.tof import functional as F
from domainssl.physics.tof_sensors import SensorProfile, scaled

#: Crop area range per method when the recipe does not set one: contrastive methods (negatives
#: available) take smaller crops, as in SimCLR / MoCo v2; BYOL / SimSiam slightly larger ones.
METHOD_CROP_SCALE: dict[str, tuple[float, float]] = {
    "simclr": (0.2, 1.0),
    "moco": (0.2, 1.0),
    "byol": (0.3, 1.0),
    "simsiam": (0.3, 1.0),
}
DEFAULT_CROP_SCALE = (0.3, 1.0)


@dataclass
class ViewRecipe:
    """Probabilities and ranges of one ToF view (the ``modality.*`` keys map onto these)."""

    crop_scale: tuple[float, float] = DEFAULT_CROP_SCALE  # crop area as a fraction of the frame
    crop_ratio: tuple[float, float] = (0.75, 4 / 3)  # crop aspect ratio w / h
    flip_p: float = 0.5
    rotate_p: float = 0.3
    rotate_deg: float = 10.0
    scale_p: float = 0.8
    scale_range: tuple[float, float] = (0.8, 1.25)  # depth-scale jitter factor (log-uniform)
    multipath_p: float = 0.3
    multipath_beta: float = 0.5  # β ~ U(0, multipath_beta)
    noise_p: float = 0.8
    noise_gain: tuple[float, float] = (0.5, 2.0)  # multiplies the sensor's σ
    flying_p: float = 0.5
    invalid_p: float = 0.5  # low-signal invalidation, strength ~ U(0.2, 1)
    speckle_p: float = 0.5  # speckle fraction ~ U(0, 3 %)
    holes_p: float = 0.3
    saturation_p: float = 0.1
    wrap_p: float = 0.05  # unambiguous range ~ U(0.6, 0.95) x the farthest valid depth
    object_aware_p: float = 0.0  # probability that a pair is centred on a foreground point


# ---------------------------------------------------------------------------------------- crop boxes


def sample_crop(height: int, width: int, rng: np.random.Generator, scale: tuple[float, float],
                ratio: tuple[float, float], centre: tuple[float, float] | None = None) -> tuple[int, int, int, int]:
    """A random crop box ``(y0, x0, h, w)`` inside a ``height`` x ``width`` frame.

    Area fraction ~ U(*scale), aspect ratio log-uniform in ``ratio`` (as torchvision's
    RandomResizedCrop). With ``centre = (y, x)`` the box is placed so that point falls in its
    middle half (clipped to the frame); otherwise the box position is uniform.
    """
    area = height * width
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            break
    else:
        h, w = height, width
    if centre is None:
        y0 = int(rng.integers(0, height - h + 1))
        x0 = int(rng.integers(0, width - w + 1))
    else:
        y0 = int(np.clip(round(centre[0] - rng.uniform(0.25, 0.75) * h), 0, height - h))
        x0 = int(np.clip(round(centre[1] - rng.uniform(0.25, 0.75) * w), 0, width - w))
    return y0, x0, h, w


# ---------------------------------------------------------------------------------------- foreground


def _fit_planes(points: np.ndarray, tol: np.ndarray, rng: np.random.Generator, max_planes: int,
                min_fraction: float, hypotheses: int = 96) -> np.ndarray:
    """RANSAC: boolean (N,) mask of points on any of up to ``max_planes`` dominant planes."""
    n = len(points)
    on_plane = np.zeros(n, bool)
    for _ in range(max_planes):
        rest = np.flatnonzero(~on_plane)
        if rest.size < max(3, min_fraction * n):
            break
        p = points[rest]
        triples = p[rng.integers(0, rest.size, (hypotheses, 3))]  # K x 3 x 3
        normal = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])  # K x 3
        norm = np.linalg.norm(normal, axis=1, keepdims=True)
        ok = norm[:, 0] > 1e-6
        if not ok.any():
            break
        normal = normal[ok] / norm[ok]
        offset = (normal * triples[ok, 0]).sum(1)  # K
        inliers = np.abs(p @ normal.T - offset) < tol[rest, None]  # M x K
        best = int(inliers.sum(0).argmax())
        if inliers[:, best].sum() < min_fraction * n:
            break
        on_plane[rest[inliers[:, best]]] = True
    return on_plane


def foreground_mask(depth_mm: np.ndarray, camera: SensorProfile, rng: np.random.Generator, max_side: int = 64,
                    max_planes: int = 3, min_plane_fraction: float = 0.2) -> np.ndarray:
    """Pixels that stand off the dominant floor / wall planes (no labels needed).

    The frame is reduced (nearest) to at most ``max_side`` pixels wide, valid pixels are
    back-projected, up to ``max_planes`` planes each holding at least ``min_plane_fraction`` of the
    points are removed by RANSAC (tolerance max(25 mm, 2 % z)), and the rest is cleaned with a
    3x3 opening.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        camera: intrinsics for this frame's resolution.

    Returns:
        (h, w) bool mask at the reduced resolution (``h / H == w / W`` up to rounding).
    """
    depth = np.asarray(depth_mm, np.float32)
    height, width = depth.shape
    factor = min(1.0, max_side / width)
    w, h = max(1, round(width * factor)), max(1, round(height * factor))
    small = cv2.resize(depth, (w, h), interpolation=cv2.INTER_NEAREST)
    cam = scaled(camera, w, h)
    valid = np.isfinite(small) & (small > 0)
    v, u = np.nonzero(valid)
    if v.size < 10:
        return np.zeros((h, w), bool)
    z = small[v, u]
    points = np.stack([(u - cam.cx) * z / cam.fx, (v - cam.cy) * z / cam.fy, z], 1)  # N x 3
    on_plane = _fit_planes(points, np.maximum(25.0, 0.02 * z), rng, max_planes, min_plane_fraction)
    mask = np.zeros((h, w), np.uint8)
    mask[v[~on_plane], u[~on_plane]] = 1
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def foreground_point(depth_mm: np.ndarray, camera: SensorProfile, rng: np.random.Generator) -> tuple[float, float] | None:
    """A random foreground pixel ``(y, x)`` in full-resolution coordinates, or None if there is none."""
    mask = foreground_mask(depth_mm, camera, rng)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    i = int(rng.integers(ys.size))
    sy, sx = depth_mm.shape[0] / mask.shape[0], depth_mm.shape[1] / mask.shape[1]
    return (ys[i] + 0.5) * sy - 0.5, (xs[i] + 0.5) * sx - 0.5


# ---------------------------------------------------------------------------------------- one view


def make_view(depth_mm: np.ndarray, rng: np.random.Generator, recipe: ViewRecipe, sensor: SensorProfile,
              out_size: int, centre: tuple[float, float] | None = None) -> np.ndarray:
    """One augmented view of a depth frame.

    Args:
        depth_mm: (H, W) float32 millimetres, 0 = invalid (the modality's ``read`` output).
        rng: the random source of this view.
        recipe: probabilities and ranges.
        sensor: the camera that took the frame (intrinsics are scaled to the frame and the crop).
        out_size: side of the square output, pixels.
        centre: ``(y, x)`` to place the crop around (object-aware crop), or None.

    Returns:
        (out_size, out_size) float32 millimetres, 0 = invalid, whole millimetres.
    """
    depth = np.asarray(depth_mm, np.float32)
    height, width = depth.shape
    cam = scaled(sensor, width, height)
    y0, x0, h, w = sample_crop(height, width, rng, recipe.crop_scale, recipe.crop_ratio, centre)
    view = F.resized_crop(depth, y0, x0, h, w, out_size, out_size)
    sx, sy = out_size / w, out_size / h
    fx, fy = cam.fx * sx, cam.fy * sy
    cx, cy = (cam.cx - x0 + 0.5) * sx - 0.5, (cam.cy - y0 + 0.5) * sy - 0.5
    if rng.random() < recipe.flip_p:
        view, cx = F.hflip(view), (out_size - 1) - cx
    if rng.random() < recipe.rotate_p:
        view = F.rotate(view, rng.uniform(-recipe.rotate_deg, recipe.rotate_deg))
    if rng.random() < recipe.scale_p:
        factor = math.exp(rng.uniform(math.log(recipe.scale_range[0]), math.log(recipe.scale_range[1])))
        view = F.scale_depth(view, factor, cam.min_range_mm, cam.max_range_mm)
    theta = F.surface_angle(view, fx, fy, cx, cy)
    if rng.random() < recipe.multipath_p:
        kernel = max(3, int(rng.uniform(0.05, 0.1) * width * sx))  # 5-10 % of the frame width
        view = F.add_multipath(view, rng.uniform(0.0, recipe.multipath_beta), kernel)
    if rng.random() < recipe.noise_p:
        if cam.noise_model == "kinect":
            sigma = np.minimum(F.kinect_axial_sigma_mm(view, theta), cam.sigma_cap_mm)
        else:
            sigma = F.amcw_sigma_mm(view, theta, cam.sigma_ref_mm, ambient=cam.ambient, cap_mm=cam.sigma_cap_mm)
        view = F.add_axial_noise(view, rng.uniform(*recipe.noise_gain) * sigma, rng)
    if rng.random() < recipe.flying_p:
        view = F.add_flying_pixels(view, rng, p_mix=rng.uniform(0.3, 0.8), p_drop=rng.uniform(0.2, 0.5))
    if rng.random() < recipe.invalid_p:
        view = F.invalidate_low_signal(view, theta, cam.max_range_mm, rng, strength=rng.uniform(0.2, 1.0))
    if rng.random() < recipe.speckle_p:
        view = F.add_speckle(view, rng.uniform(0.0, 0.03), rng)
    if rng.random() < recipe.holes_p:
        view = F.add_holes(view, rng, n=int(rng.integers(1, 4)), radius_px=rng.uniform(0.02, 0.06) * out_size)
    if rng.random() < recipe.saturation_p:
        view = F.add_saturation(view, rng, near_mm=cam.min_range_mm * rng.uniform(1.2, 2.0),
                                radius_px=rng.uniform(0.03, 0.08) * out_size)
    if rng.random() < recipe.wrap_p and view.max() > 0:
        unambiguous = rng.uniform(0.6, 0.95) * float(view.max())
        view = F.phase_wrap(view, F.SPEED_OF_LIGHT_MM_S / (2.0 * unambiguous))
    return F.quantise_mm(view)
