"""Albumentations-compatible ToF transforms: thin seeded classes over :mod:`.functional`.

Each class composes inside ``albumentations.Compose``; parameters are drawn in ``get_params`` from the
transform's own generators (``self.random_generator`` / ``self.py_random``), so
``A.Compose([...], seed=S)`` gives the same output for the same seed. Depth images are (H, W) or
(H, W, 1) float32 millimetres with 0 = invalid. The geometric transforms subclass albumentations'
own (``RandomResizedCrop``, ``HorizontalFlip``, ``Rotate``) with nearest resampling and a zero border
forced, so masks, boxes and keypoints follow exactly as albumentations moves them.

Examples:
    >>> import albumentations as A
    >>> pipeline = A.Compose([DepthRandomResizedCrop((64, 64)), DepthHorizontalFlip(), AxialNoise(p=1.0)],
    ...                      seed=0)
    >>> out = pipeline(image=np.full((96, 128), 1500.0, np.float32), mask=np.ones((96, 128), np.uint8))
    >>> out["image"].shape, out["mask"].shape
    ((64, 64), (64, 64))
"""

from __future__ import annotations

from typing import Any, Literal

import albumentations as A
import cv2
import numpy as np

from domainssl.augment.tof import functional as F
from domainssl.physics.tof_sensors import SensorProfile, get_sensor, scaled


def _per_channel(fn, img: np.ndarray, **kwargs: Any) -> np.ndarray:
    """Apply a (H, W) depth op to (H, W) or (H, W, 1) input, keeping the input's layout."""
    if img.ndim == 3:
        if img.shape[-1] != 1:
            raise ValueError(f"ToF transforms expect (H, W) or (H, W, 1) depth, got {img.shape}")
        return fn(img[..., 0], **kwargs)[..., None]
    return fn(img, **kwargs)


def _camera(sensor: str | SensorProfile, img: np.ndarray) -> SensorProfile:
    profile = get_sensor(sensor) if isinstance(sensor, str) else sensor
    return scaled(profile, img.shape[1], img.shape[0])


class _DepthTransform(A.ImageOnlyTransform):
    """Base of the value transforms: draws a child seed per call so every op has its own rng."""

    def _seed(self) -> int:
        return int(self.random_generator.integers(0, 2**63 - 1))


# ---------------------------------------------------------------------------------------- geometric


class DepthRandomResizedCrop(A.RandomResizedCrop):
    """``A.RandomResizedCrop`` for depth: nearest resampling (no smeared zeros) for image and mask.

    Args:
        size: output (height, width).
        scale: crop area range as a fraction of the input area.
        ratio: crop aspect-ratio (w / h) range.
        p: probability.
    """

    def __init__(self, size: tuple[int, int], scale: tuple[float, float] = (0.3, 1.0),
                 ratio: tuple[float, float] = (0.75, 4 / 3), p: float = 1.0):
        super().__init__(size=size, scale=scale, ratio=ratio, interpolation=cv2.INTER_NEAREST,
                         mask_interpolation=cv2.INTER_NEAREST, p=p)

    def apply(self, img: np.ndarray, crop_coords: tuple[int, int, int, int], **params: Any) -> np.ndarray:
        x0, y0, x1, y1 = crop_coords
        return F.resized_crop(img, y0, x0, y1 - y0, x1 - x0, *self.size)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("size", "scale", "ratio")


class DepthHorizontalFlip(A.HorizontalFlip):
    """``A.HorizontalFlip`` whose image path is :func:`functional.hflip` (depth-safe, exact)."""

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return F.hflip(img)


class DepthRotate(A.Rotate):
    """``A.Rotate`` for depth: small angles, nearest resampling, border filled with 0 (invalid).

    Args:
        limit: angle range in degrees (a number ``L`` means ``(-L, L)``).
        p: probability.
    """

    def __init__(self, limit: float | tuple[float, float] = 10.0, p: float = 0.5):
        super().__init__(limit=limit, interpolation=cv2.INTER_NEAREST, mask_interpolation=cv2.INTER_NEAREST,
                         border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0, p=p)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        out = super().get_params_dependent_on_data(params, data)
        out["angle"] = float(np.degrees(np.arctan2(-out["matrix"][1, 0], out["matrix"][0, 0])))
        return out

    def apply(self, img: np.ndarray, angle: float, **params: Any) -> np.ndarray:
        return F.rotate(img, angle)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("limit",)


# ---------------------------------------------------------------------------------------- values


class DepthScaleJitter(_DepthTransform):
    """Multiply depth by ``U(*factor)`` (a different stand-off), then invalidate out-of-range pixels.

    Args:
        factor: scale range, e.g. (0.8, 1.25).
        min_range_mm, max_range_mm: the working range to re-clip to (None = the sensor's).
        sensor: sensor name or profile supplying the default range.
    """

    def __init__(self, factor: tuple[float, float] = (0.8, 1.25), min_range_mm: float | None = None,
                 max_range_mm: float | None = None, sensor: str | SensorProfile = "generic", p: float = 0.5):
        super().__init__(p=p)
        self.factor, self.sensor = factor, sensor
        self.min_range_mm, self.max_range_mm = min_range_mm, max_range_mm

    def get_params(self) -> dict[str, Any]:
        return {"factor": float(np.exp(self.random_generator.uniform(*np.log(self.factor))))}

    def apply(self, img: np.ndarray, factor: float, **params: Any) -> np.ndarray:
        cam = get_sensor(self.sensor) if isinstance(self.sensor, str) else self.sensor
        lo = cam.min_range_mm if self.min_range_mm is None else self.min_range_mm
        hi = cam.max_range_mm if self.max_range_mm is None else self.max_range_mm
        return _per_channel(F.scale_depth, img, factor=factor, min_range_mm=lo, max_range_mm=hi)


class AxialNoise(_DepthTransform):
    """Axial noise whose σ depends on range and surface angle (from normals).

    Args:
        model: ``"kinect"`` (Nguyen et al.) or ``"amcw"`` (shot noise, σ ∝ d / √cos θ, or d² / cos θ
            with ``ambient``).
        sigma_ref_mm: range of σ at 1 m for ``amcw``, millimetres.
        scale: multiplier range applied to σ (both models).
        sensor: profile supplying intrinsics (scaled to the image) and σ cap.
    """

    def __init__(self, model: Literal["kinect", "amcw"] = "amcw", sigma_ref_mm: tuple[float, float] = (1.0, 5.0),
                 scale: tuple[float, float] = (1.0, 1.0), ambient: bool = False,
                 sensor: str | SensorProfile = "generic", p: float = 0.5):
        super().__init__(p=p)
        self.model, self.sigma_ref_mm, self.scale, self.ambient, self.sensor = model, sigma_ref_mm, scale, ambient, sensor

    def get_params(self) -> dict[str, Any]:
        return {"sigma_ref": self.random_generator.uniform(*self.sigma_ref_mm),
                "gain": self.random_generator.uniform(*self.scale), "seed": self._seed()}

    def _noise(self, depth: np.ndarray, sigma_ref: float, gain: float, seed: int) -> np.ndarray:
        cam = _camera(self.sensor, depth)
        theta = F.surface_angle(depth, cam.fx, cam.fy, cam.cx, cam.cy)
        if self.model == "kinect":
            sigma = F.kinect_axial_sigma_mm(depth, theta)
        else:
            sigma = F.amcw_sigma_mm(depth, theta, sigma_ref, ambient=self.ambient, cap_mm=cam.sigma_cap_mm)
        return F.add_axial_noise(depth, gain * sigma, np.random.default_rng(seed))

    def apply(self, img: np.ndarray, sigma_ref: float, gain: float, seed: int, **params: Any) -> np.ndarray:
        return _per_channel(self._noise, img, sigma_ref=sigma_ref, gain=gain, seed=seed)


class FlyingPixels(_DepthTransform):
    """Mixed pixels at depth edges (see :func:`functional.add_flying_pixels`).

    Args:
        p_mix: range of the per-edge-pixel mixing probability.
        p_drop: range of the drop probability for edge pixels that are not mixed.
    """

    def __init__(self, p_mix: tuple[float, float] = (0.3, 0.8), p_drop: tuple[float, float] = (0.2, 0.5),
                 p: float = 0.5):
        super().__init__(p=p)
        self.p_mix, self.p_drop = p_mix, p_drop

    def get_params(self) -> dict[str, Any]:
        return {"mix": self.random_generator.uniform(*self.p_mix), "drop": self.random_generator.uniform(*self.p_drop),
                "seed": self._seed()}

    def apply(self, img: np.ndarray, mix: float, drop: float, seed: int, **params: Any) -> np.ndarray:
        return _per_channel(F.add_flying_pixels, img, rng=np.random.default_rng(seed), p_mix=mix, p_drop=drop)


class Multipath(_DepthTransform):
    """Positive multipath bias in concave regions (see :func:`functional.add_multipath`).

    Args:
        beta: bias strength range.
        kernel_fraction: Gaussian kernel side range as a fraction of the image width.
    """

    def __init__(self, beta: tuple[float, float] = (0.0, 0.5), kernel_fraction: tuple[float, float] = (0.05, 0.1),
                 p: float = 0.5):
        super().__init__(p=p)
        self.beta, self.kernel_fraction = beta, kernel_fraction

    def get_params(self) -> dict[str, Any]:
        return {"beta": self.random_generator.uniform(*self.beta),
                "fraction": self.random_generator.uniform(*self.kernel_fraction)}

    def apply(self, img: np.ndarray, beta: float, fraction: float, **params: Any) -> np.ndarray:
        return _per_channel(F.add_multipath, img, beta=beta, kernel_px=max(3, int(fraction * img.shape[1])))


class LowSignalInvalidation(_DepthTransform):
    """Drop pixels at grazing angles and far range (see :func:`functional.invalidate_low_signal`)."""

    def __init__(self, strength: tuple[float, float] = (0.2, 1.0), sensor: str | SensorProfile = "generic",
                 p: float = 0.5):
        super().__init__(p=p)
        self.strength, self.sensor = strength, sensor

    def get_params(self) -> dict[str, Any]:
        return {"strength": self.random_generator.uniform(*self.strength), "seed": self._seed()}

    def _drop(self, depth: np.ndarray, strength: float, seed: int) -> np.ndarray:
        cam = _camera(self.sensor, depth)
        theta = F.surface_angle(depth, cam.fx, cam.fy, cam.cx, cam.cy)
        return F.invalidate_low_signal(depth, theta, cam.max_range_mm, np.random.default_rng(seed), strength)

    def apply(self, img: np.ndarray, strength: float, seed: int, **params: Any) -> np.ndarray:
        return _per_channel(self._drop, img, strength=strength, seed=seed)


class Speckle(_DepthTransform):
    """Invalidate a random ``U(*fraction)`` of the pixels (speckle dropouts, 0–3 %)."""

    def __init__(self, fraction: tuple[float, float] = (0.0, 0.03), p: float = 0.5):
        super().__init__(p=p)
        self.fraction = fraction

    def get_params(self) -> dict[str, Any]:
        return {"fraction": self.random_generator.uniform(*self.fraction), "seed": self._seed()}

    def apply(self, img: np.ndarray, fraction: float, seed: int, **params: Any) -> np.ndarray:
        return _per_channel(F.add_speckle, img, fraction=fraction, rng=np.random.default_rng(seed))


class Holes(_DepthTransform):
    """Invalidate ``n`` random discs of radius up to ``radius_fraction`` of the image width."""

    def __init__(self, n: tuple[int, int] = (1, 4), radius_fraction: tuple[float, float] = (0.02, 0.06),
                 p: float = 0.5):
        super().__init__(p=p)
        self.n, self.radius_fraction = n, radius_fraction

    def get_params(self) -> dict[str, Any]:
        return {"count": int(self.random_generator.integers(self.n[0], self.n[1] + 1)),
                "fraction": self.random_generator.uniform(*self.radius_fraction), "seed": self._seed()}

    def apply(self, img: np.ndarray, count: int, fraction: float, seed: int, **params: Any) -> np.ndarray:
        return _per_channel(F.add_holes, img, rng=np.random.default_rng(seed), n=count,
                            radius_px=max(1.0, fraction * img.shape[1]))


class Saturation(_DepthTransform):
    """Saturation blobs on surfaces nearer than ``near_mm`` (see :func:`functional.add_saturation`)."""

    def __init__(self, near_mm: tuple[float, float] = (600.0, 1000.0), n: tuple[int, int] = (1, 2),
                 radius_fraction: tuple[float, float] = (0.02, 0.06), p: float = 0.5):
        super().__init__(p=p)
        self.near_mm, self.n, self.radius_fraction = near_mm, n, radius_fraction

    def get_params(self) -> dict[str, Any]:
        return {"near": self.random_generator.uniform(*self.near_mm),
                "count": int(self.random_generator.integers(self.n[0], self.n[1] + 1)),
                "fraction": self.random_generator.uniform(*self.radius_fraction), "seed": self._seed()}

    def apply(self, img: np.ndarray, near: float, count: int, fraction: float, seed: int, **params: Any) -> np.ndarray:
        return _per_channel(F.add_saturation, img, rng=np.random.default_rng(seed), near_mm=near, n=count,
                            radius_px=max(1.0, fraction * img.shape[1]))


class PhaseWrap(_DepthTransform):
    """Phase wrapping ``z mod c / (2 f)`` with the modulation frequency drawn from ``f_mod_hz``."""

    def __init__(self, f_mod_hz: tuple[float, float] = (20e6, 40e6), p: float = 0.5):
        super().__init__(p=p)
        self.f_mod_hz = f_mod_hz

    def get_params(self) -> dict[str, Any]:
        return {"f_mod": self.random_generator.uniform(*self.f_mod_hz)}

    def apply(self, img: np.ndarray, f_mod: float, **params: Any) -> np.ndarray:
        return _per_channel(F.phase_wrap, img, f_mod_hz=f_mod)


class Quantise(_DepthTransform):
    """Round depth to whole millimetres (the uint16 storage grid)."""

    def __init__(self, p: float = 1.0):
        super().__init__(p=p)

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return _per_channel(F.quantise_mm, img)


#: Every transform class, for sweeps and discovery.
ALL_TRANSFORMS = (DepthRandomResizedCrop, DepthHorizontalFlip, DepthRotate, DepthScaleJitter, AxialNoise,
                  FlyingPixels, Multipath, LowSignalInvalidation, Speckle, Holes, Saturation, PhaseWrap, Quantise)
