"""ToF views: the transforms of one training view, one random view of a depth frame, and the
object-aware crop centre.

A view is: random resized crop (optionally placed around a foreground point) → flip → small
rotation → depth-scale jitter → sensor-like perturbations (multipath, axial noise, flying pixels,
low-signal invalidation, speckle, holes, saturation, phase wrap) → quantisation to 1 mm. Each step is
one of the albumentations-compatible classes of :mod:`.transforms`, which own the random draws:
:func:`view_transforms` lists them for a :class:`~.recipe.ViewRecipe`, and :func:`run_view` runs them
with one generator, exactly as an ``A.Compose`` of them sharing that generator does. All resampling
is nearest-neighbour, so invalid zeros never smear. Normalisation is the modality's job.

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

from typing import Sequence

import cv2
import numpy as np

from domainssl.augment.tof import transforms as T
from domainssl.augment.tof.recipe import DEFAULT_CROP_SCALE, ViewRecipe
from domainssl.physics.tof_sensors import SensorProfile, scaled

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


def view_transforms(recipe: ViewRecipe, sensor: str | SensorProfile, out_size: int) -> list[T.ToFTransform]:
    """The transforms of one training view, in order: the classes of :mod:`.transforms` set from ``recipe``.

    Every range the recipe does not set is the class default. Build them once and reuse them: they
    hold no state between views (``run_view`` passes its generator to each call).

    Args:
        recipe: probabilities and ranges (``crop_scale`` None = the default crop scale).
        sensor: the camera that took the frames (range, noise model, minimum range).
        out_size: side of the square output, pixels.

    Returns:
        Crop → flip → rotate → depth-scale jitter → surface angle → multipath → axial noise → flying
        pixels → low-signal invalidation → speckle → holes → saturation → phase wrap → quantisation.
    """
    return [
        T.DepthRandomResizedCrop((out_size, out_size), scale=tuple(recipe.crop_scale or DEFAULT_CROP_SCALE)),
        T.DepthHorizontalFlip(p=recipe.flip_p),
        T.DepthRotate(limit=recipe.rotate_deg, p=recipe.rotate_p),
        T.DepthScaleJitter(factor=tuple(recipe.scale_range), sensor=sensor, p=recipe.scale_p),
        T.SurfaceAngle(),
        T.Multipath(p=recipe.multipath_p),
        T.AxialNoise(gain=tuple(recipe.noise_gain), sensor=sensor, p=recipe.noise_p),
        T.FlyingPixels(p=recipe.flying_p),
        T.LowSignalInvalidation(sensor=sensor, p=recipe.invalid_p),
        T.Speckle(p=recipe.speckle_p),
        T.Holes(p=recipe.holes_p),
        T.Saturation(sensor=sensor, p=recipe.saturation_p),
        T.PhaseWrap(p=recipe.wrap_p),
        T.Quantise(),
    ]


def run_view(transforms: Sequence[T.ToFTransform], depth_mm: np.ndarray, rng: np.random.Generator,
             sensor: str | SensorProfile, centre: tuple[float, float] | None = None) -> np.ndarray:
    """Run ToF transforms on one frame with one generator: for each, probability test, draw, apply.

    The same draws, in the same order, as an ``A.Compose`` of ``transforms`` whose transforms share
    ``rng``, called with ``camera=ViewCamera.of(sensor, H, W)`` and ``crop_centre=centre``.

    Args:
        transforms: e.g. :func:`view_transforms`.
        depth_mm: (H, W) float32 millimetres, 0 = invalid (the modality's ``read`` output).
        rng: the random source of this view.
        sensor: the camera that took the frame (its intrinsics are scaled to the frame).
        centre: ``(y, x)`` to place the crop around (object-aware crop), or None.

    Returns:
        The last transform's output; for :func:`view_transforms`, (out_size, out_size) float32
        millimetres, 0 = invalid, whole millimetres.
    """
    depth = np.asarray(depth_mm, np.float32)
    data = {"image": depth, "camera": T.ViewCamera.of(sensor, *depth.shape), "crop_centre": centre}
    for transform in transforms:
        if transform.applies(rng):
            params = {"shape": data["image"].shape, **transform.draw(rng, data)}
            data = {**data, "image": transform.apply(data["image"], **params),
                    "camera": transform.apply_to_camera(data["camera"], **params)}
    return data["image"]


def make_view(depth_mm: np.ndarray, rng: np.random.Generator, recipe: ViewRecipe, sensor: str | SensorProfile,
              out_size: int, centre: tuple[float, float] | None = None) -> np.ndarray:
    """One augmented view of a depth frame: :func:`run_view` of :func:`view_transforms`.

    For many views, build ``view_transforms`` once and call ``run_view`` (building them costs about
    as much as a view).

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
    return run_view(view_transforms(recipe, sensor, out_size), depth_mm, rng, sensor, centre)
