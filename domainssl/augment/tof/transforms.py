"""Albumentations-compatible ToF transforms: thin seeded classes over :mod:`.functional`.

Each class is the one definition of its op's random draw: it owns the op's ranges (their defaults
are the training view's, see :class:`~domainssl.augment.tof.recipe.ViewRecipe`) and
``draw(rng, data) -> params``, which samples them from an explicit :class:`numpy.random.Generator`.
Inside ``albumentations.Compose`` the probability test and ``draw`` use the transform's
``self.random_generator``; :func:`~domainssl.augment.tof.views.make_view` runs the same objects with
its one generator. Per-pixel randomness (noise, dropouts, hole centres) comes from the generator that
drew the parameters, consumed in ``apply`` right after ``draw``, so one generator drives a whole view
in a fixed order.

Depth images are (H, W) or (H, W, 1) float32 millimetres with 0 = invalid. The geometric transforms
subclass albumentations' own (``RandomResizedCrop``, ``HorizontalFlip``, ``Rotate``) with nearest
resampling and a zero border forced, so masks, boxes and keypoints follow exactly as albumentations
moves them.

The camera. Call a pipeline with ``camera=ViewCamera.of(sensor, height, width)`` beside the image:
the geometric transforms carry it along (a crop scales the intrinsics, a flip mirrors ``cx``),
:class:`SurfaceAngle` records the surface angle of the clean geometry in it, and the sensor ops read
it (axial noise and low-signal invalidation use that angle; multipath sizes its kernel from the frame
width). Without a camera, each op treats its input as a whole frame of its ``sensor`` and takes the
surface angle of its own input. ``crop_centre=(y, x)`` beside the image places the crop around that
point (the object-aware crop).

Same seed, same view: the transforms of :func:`~domainssl.augment.tof.views.view_transforms` in an
``A.Compose`` that shares one generator (``set_random_state``) reproduce ``make_view`` exactly.
``A.Compose(..., seed=S)`` instead gives every transform its own generator seeded with ``S``.

Examples:
    >>> import random
    >>> import albumentations as A
    >>> frame = np.full((96, 128), 1500.0, np.float32)
    >>> pipeline = A.Compose([DepthRandomResizedCrop((64, 64)), DepthHorizontalFlip(), AxialNoise(p=1.0)],
    ...                      seed=0)
    >>> out = pipeline(image=frame, mask=np.ones((96, 128), np.uint8), camera=ViewCamera.of("generic", 96, 128))
    >>> out["image"].shape, out["mask"].shape
    ((64, 64), (64, 64))

    The training view, drawn by albumentations:

    >>> from domainssl.augment.tof import ViewRecipe, make_view, view_transforms
    >>> training = A.Compose(view_transforms(ViewRecipe(), "generic", 64))
    >>> training.set_random_state(np.random.default_rng(0), random.Random(0))
    >>> view = training(image=frame, camera=ViewCamera.of("generic", 96, 128))["image"]
    >>> np.array_equal(view, make_view(frame, np.random.default_rng(0), ViewRecipe(), "generic", 64))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import albumentations as A
import cv2
import numpy as np

from domainssl.augment.tof import functional as F
from domainssl.augment.tof.recipe import DEFAULT_CROP_SCALE, ViewRecipe
from domainssl.physics.tof_sensors import SensorProfile, get_sensor, scaled

_TRAINING = ViewRecipe()  # the training view's probabilities and ranges: the classes' defaults


def _profile(sensor: str | SensorProfile) -> SensorProfile:
    return get_sensor(sensor) if isinstance(sensor, str) else sensor


def _per_channel(fn, img: np.ndarray, **kwargs: Any) -> np.ndarray:
    """Apply a (H, W) depth op to (H, W) or (H, W, 1) input, keeping the input's layout."""
    if img.ndim == 3:
        if img.shape[-1] != 1:
            raise ValueError(f"ToF transforms expect (H, W) or (H, W, 1) depth, got {img.shape}")
        return fn(img[..., 0], **kwargs)[..., None]
    return fn(img, **kwargs)


def _depth(data: dict[str, Any]) -> np.ndarray:
    """The (H, W) depth of an albumentations data dict: its ``image``, else the first of its ``images``."""
    img = data["image"] if "image" in data else data["images"][0]
    return img[..., 0] if img.ndim == 3 else img


def _rotation(centre_x: float, centre_y: float, angle_deg: float) -> np.ndarray:
    """3 x 3 rotation about a centre, counter-clockwise degrees (cv2's and albumentations' convention)."""
    return np.vstack([cv2.getRotationMatrix2D((centre_x, centre_y), angle_deg, 1.0), [0.0, 0.0, 1.0]])


def sample_crop(height: int, width: int, rng: np.random.Generator, scale: tuple[float, float],
                ratio: tuple[float, float], centre: tuple[float, float] | None = None) -> tuple[int, int, int, int]:
    """A random crop box ``(y0, x0, h, w)`` inside a ``height`` x ``width`` frame.

    Area fraction ~ U(*scale), aspect ratio log-uniform in ``ratio`` (as torchvision's
    RandomResizedCrop; 10 tries, then the whole frame). With ``centre = (y, x)`` the box is placed so
    that point falls in its middle half (clipped to the frame); otherwise the box position is uniform.
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


# ---------------------------------------------------------------------------------------- the camera


@dataclass(frozen=True, eq=False)
class ViewCamera:
    """Pinhole geometry of a depth view as crops and flips move it, and the view's clean surface angle.

    Attributes:
        fx, fy, cx, cy: intrinsics of the view, pixels (pixel centres at integer coordinates).
        frame_width: width of the sensor frame the view was cut from, in that frame's pixels.
        zoom: view pixels per frame pixel along x (1 until a crop is resized).
        theta: (H, W) float32 radians, the surface angle :class:`SurfaceAngle` recorded (None before,
            and again after any geometric transform).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    frame_width: int
    zoom: float = 1.0
    theta: np.ndarray | None = None

    @classmethod
    def of(cls, sensor: str | SensorProfile, height: int, width: int) -> ViewCamera:
        """The camera of a whole ``height`` x ``width`` frame of ``sensor`` (intrinsics scaled to that size)."""
        cam = scaled(_profile(sensor), width, height)
        return cls(cam.fx, cam.fy, cam.cx, cam.cy, width)

    def resized_crop(self, crop_coords: tuple[int, int, int, int], out_h: int, out_w: int) -> ViewCamera:
        """The camera of the crop ``(x0, y0, x1, y1)`` resized to ``out_h`` x ``out_w``."""
        x0, y0, x1, y1 = crop_coords
        sx, sy = out_w / (x1 - x0), out_h / (y1 - y0)
        return replace(self, fx=self.fx * sx, fy=self.fy * sy, cx=(self.cx - x0 + 0.5) * sx - 0.5,
                       cy=(self.cy - y0 + 0.5) * sy - 0.5, zoom=self.zoom * sx, theta=None)

    def hflipped(self, width: int) -> ViewCamera:
        """The camera of the view mirrored left-right (``width`` = the view's width, pixels)."""
        return replace(self, cx=(width - 1) - self.cx, theta=None)

    def surface_angle(self, depth_mm: np.ndarray) -> np.ndarray:
        """(H, W) float32 radians: :func:`functional.surface_angle` of ``depth_mm`` with these intrinsics."""
        return F.surface_angle(depth_mm, self.fx, self.fy, self.cx, self.cy)


def _camera(data: dict[str, Any], sensor: str | SensorProfile) -> ViewCamera:
    """The pipeline's ``camera``, else that of a whole frame of ``sensor`` the size of the image."""
    camera = data.get("camera")
    return camera if camera is not None else ViewCamera.of(sensor, *_depth(data).shape)


def _clean_angle(data: dict[str, Any], sensor: str | SensorProfile) -> np.ndarray:
    """The surface angle the sensor ops use: the one :class:`SurfaceAngle` recorded, else that of the image."""
    camera = _camera(data, sensor)
    return camera.theta if camera.theta is not None else camera.surface_angle(_depth(data))


# ---------------------------------------------------------------------------------------- the protocol


class ToFTransform:
    """Mixin of the ToF transforms: one probability test, one ``draw``, both from an explicit generator.

    Subclasses implement ``draw(rng, data) -> params`` (``data``: the albumentations data dict, with
    ``image`` and, when given, ``camera`` and ``crop_centre``) and, if they move pixels,
    ``apply_to_camera``. :func:`~domainssl.augment.tof.views.run_view` calls ``applies``, ``draw``,
    ``apply`` and ``apply_to_camera`` with its own generator; albumentations reaches the same methods
    through ``should_apply`` and ``get_params_dependent_on_data`` with ``self.random_generator``.
    """

    def applies(self, rng: np.random.Generator) -> bool:
        """The probability test: one draw from ``rng``, even at p = 1 (as the training view)."""
        return rng.random() < self.p

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        """The parameters of one application: its random draws and what they need from ``data`` (none by default)."""
        return {}

    def apply_to_camera(self, camera: ViewCamera, **params: Any) -> ViewCamera:
        """The camera after this transform (unchanged by default: value ops do not move pixels)."""
        return camera

    def should_apply(self, force_apply: bool = False) -> bool:
        return self.applies(self.random_generator) or force_apply

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return self.draw(self.random_generator, data)

    @property
    def targets(self) -> dict[str, Any]:
        return {**super().targets, "camera": self.apply_to_camera}


class _Stage(ToFTransform):
    """A transform every training view goes through (crop, surface angle, quantisation): no draw at p = 1."""

    def applies(self, rng: np.random.Generator) -> bool:
        return self.p >= 1.0 or super().applies(rng)


# ---------------------------------------------------------------------------------------- geometric


class DepthRandomResizedCrop(_Stage, A.RandomResizedCrop):
    """``A.RandomResizedCrop`` for depth: nearest resampling (no smeared zeros) for image and mask.

    The box comes from :func:`sample_crop` (around ``crop_centre`` when the pipeline is given one).

    Args:
        size: output (height, width).
        scale: crop area range as a fraction of the input area.
        ratio: crop aspect-ratio (w / h) range, log-uniform.
        p: probability.
    """

    def __init__(self, size: tuple[int, int], scale: tuple[float, float] = DEFAULT_CROP_SCALE,
                 ratio: tuple[float, float] = (0.75, 4 / 3), p: float = 1.0):
        super().__init__(size=size, scale=scale, ratio=ratio, interpolation=cv2.INTER_NEAREST,
                         mask_interpolation=cv2.INTER_NEAREST, p=p)

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        height, width = _depth(data).shape
        y0, x0, h, w = sample_crop(height, width, rng, self.scale, self.ratio, data.get("crop_centre"))
        return {"crop_coords": (x0, y0, x0 + w, y0 + h)}

    def apply(self, img: np.ndarray, crop_coords: tuple[int, int, int, int], **params: Any) -> np.ndarray:
        x0, y0, x1, y1 = crop_coords
        return F.resized_crop(img, y0, x0, y1 - y0, x1 - x0, *self.size)

    def apply_to_camera(self, camera: ViewCamera, crop_coords: tuple[int, int, int, int], **params: Any) -> ViewCamera:
        return camera.resized_crop(crop_coords, *self.size)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("size", "scale", "ratio")


class DepthHorizontalFlip(ToFTransform, A.HorizontalFlip):
    """``A.HorizontalFlip`` whose image path is :func:`functional.hflip` (depth-safe, exact)."""

    def __init__(self, p: float = _TRAINING.flip_p):
        super().__init__(p=p)

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return F.hflip(img)

    def apply_to_camera(self, camera: ViewCamera, shape: tuple[int, ...], **params: Any) -> ViewCamera:
        return camera.hflipped(shape[1])


class DepthRotate(ToFTransform, A.Rotate):
    """``A.Rotate`` for depth: small angles, nearest resampling, border filled with 0 (invalid).

    The intrinsics are kept (the rotation is about the image centre and small).

    Args:
        limit: angle range in degrees (a number ``L`` means ``(-L, L)``), uniform.
        p: probability.
    """

    def __init__(self, limit: float | tuple[float, float] = _TRAINING.rotate_deg, p: float = _TRAINING.rotate_p):
        super().__init__(limit=limit, interpolation=cv2.INTER_NEAREST, mask_interpolation=cv2.INTER_NEAREST,
                         border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0, p=p)

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        angle = rng.uniform(*self.limit)
        height, width = _depth(data).shape
        return {"angle": angle, "matrix": _rotation((width - 1) / 2, (height - 1) / 2, angle),
                "bbox_matrix": _rotation(width / 2, height / 2, angle), "x_min": -1, "x_max": -1, "y_min": -1,
                "y_max": -1}

    def apply(self, img: np.ndarray, angle: float, **params: Any) -> np.ndarray:
        return F.rotate(img, angle)

    def apply_to_camera(self, camera: ViewCamera, **params: Any) -> ViewCamera:
        return replace(camera, theta=None)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("limit",)


# ---------------------------------------------------------------------------------------- values


class DepthScaleJitter(ToFTransform, A.ImageOnlyTransform):
    """Multiply depth by a log-uniform factor (a different stand-off), then invalidate out-of-range pixels.

    Args:
        factor: factor range, e.g. (0.8, 1.25); log-uniform.
        min_range_mm, max_range_mm: the working range to re-clip to (None = the sensor's).
        sensor: sensor name or profile supplying the default range.
        p: probability.
    """

    def __init__(self, factor: tuple[float, float] = tuple(_TRAINING.scale_range), min_range_mm: float | None = None,
                 max_range_mm: float | None = None, sensor: str | SensorProfile = "generic",
                 p: float = _TRAINING.scale_p):
        super().__init__(p=p)
        self.factor, self.sensor = factor, sensor
        self.min_range_mm, self.max_range_mm = min_range_mm, max_range_mm

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        lo, hi = self.factor
        return {"factor": math.exp(rng.uniform(math.log(lo), math.log(hi)))}

    def apply(self, img: np.ndarray, factor: float, **params: Any) -> np.ndarray:
        cam = _profile(self.sensor)
        lo = cam.min_range_mm if self.min_range_mm is None else self.min_range_mm
        hi = cam.max_range_mm if self.max_range_mm is None else self.max_range_mm
        return _per_channel(F.scale_depth, img, factor=factor, min_range_mm=lo, max_range_mm=hi)


class SurfaceAngle(_Stage, A.ImageOnlyTransform):
    """Record the surface angle of the view's clean geometry in the pipeline's ``camera``.

    Place it after the geometric and depth-scale transforms and before the sensor perturbations (as
    :func:`~domainssl.augment.tof.views.view_transforms` does): :class:`AxialNoise` and
    :class:`LowSignalInvalidation` then see the angle of the surfaces, not of the noise that earlier
    perturbations added. The image is unchanged. Needs ``camera=ViewCamera.of(...)`` in the call.
    """

    def __init__(self, p: float = 1.0):
        super().__init__(p=p)

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("camera") is None:
            raise KeyError("SurfaceAngle records the angle in the camera: call the pipeline with "
                           "camera=ViewCamera.of(sensor, height, width) beside the image")
        return {"theta": data["camera"].surface_angle(_depth(data))}

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return img

    def apply_to_camera(self, camera: ViewCamera, theta: np.ndarray, **params: Any) -> ViewCamera:
        return replace(camera, theta=theta)


class Multipath(ToFTransform, A.ImageOnlyTransform):
    """Positive multipath bias in concave regions (see :func:`functional.add_multipath`).

    Args:
        beta: bias strength range, uniform.
        kernel_fraction: Gaussian kernel side range as a fraction of the sensor frame's width (the
            camera's, in view pixels; the image width without a camera), uniform; at least 3 pixels.
        p: probability.
    """

    def __init__(self, beta: tuple[float, float] = (0.0, 0.5), kernel_fraction: tuple[float, float] = (0.05, 0.1),
                 p: float = _TRAINING.multipath_p):
        super().__init__(p=p)
        self.beta, self.kernel_fraction = beta, kernel_fraction

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        fraction = rng.uniform(*self.kernel_fraction)
        camera = data.get("camera")
        width, zoom = (camera.frame_width, camera.zoom) if camera is not None else (_depth(data).shape[1], 1.0)
        return {"kernel_px": max(3, int(fraction * width * zoom)), "beta": rng.uniform(*self.beta)}

    def apply(self, img: np.ndarray, beta: float, kernel_px: int, **params: Any) -> np.ndarray:
        return _per_channel(F.add_multipath, img, beta=beta, kernel_px=kernel_px)


class AxialNoise(ToFTransform, A.ImageOnlyTransform):
    """Axial noise of the sensor's model, whose σ depends on range and surface angle, times a random gain.

    σ is the sensor's: Kinect-style (Nguyen et al.) or AMCW shot noise (σ_ref · d / √cos θ, or
    d² / cos θ when ambient light dominates), capped at the sensor's ``sigma_cap_mm``.

    Args:
        gain: multiplier range of σ, uniform.
        sensor: sensor name or profile: noise model and constants (and intrinsics without a camera).
        p: probability.
    """

    def __init__(self, gain: tuple[float, float] = tuple(_TRAINING.noise_gain),
                 sensor: str | SensorProfile = "generic", p: float = _TRAINING.noise_p):
        super().__init__(p=p)
        self.gain, self.sensor = gain, sensor

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        return {"theta": _clean_angle(data, self.sensor), "gain": rng.uniform(*self.gain), "rng": rng}

    def _noise(self, depth: np.ndarray, theta: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
        cam = _profile(self.sensor)
        if cam.noise_model == "kinect":
            sigma = np.minimum(F.kinect_axial_sigma_mm(depth, theta), cam.sigma_cap_mm)
        else:
            sigma = F.amcw_sigma_mm(depth, theta, cam.sigma_ref_mm, ambient=cam.ambient, cap_mm=cam.sigma_cap_mm)
        return F.add_axial_noise(depth, gain * sigma, rng)

    def apply(self, img: np.ndarray, theta: np.ndarray, gain: float, rng: np.random.Generator,
              **params: Any) -> np.ndarray:
        return _per_channel(self._noise, img, theta=theta, gain=gain, rng=rng)


class FlyingPixels(ToFTransform, A.ImageOnlyTransform):
    """Mixed pixels at depth edges (see :func:`functional.add_flying_pixels`).

    Args:
        p_mix: range of the per-edge-pixel mixing probability, uniform.
        p_drop: range of the drop probability for edge pixels that are not mixed, uniform.
        p: probability.
    """

    def __init__(self, p_mix: tuple[float, float] = (0.3, 0.8), p_drop: tuple[float, float] = (0.2, 0.5),
                 p: float = _TRAINING.flying_p):
        super().__init__(p=p)
        self.p_mix, self.p_drop = p_mix, p_drop

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        return {"mix": rng.uniform(*self.p_mix), "drop": rng.uniform(*self.p_drop), "rng": rng}

    def apply(self, img: np.ndarray, mix: float, drop: float, rng: np.random.Generator, **params: Any) -> np.ndarray:
        return _per_channel(F.add_flying_pixels, img, rng=rng, p_mix=mix, p_drop=drop)


class LowSignalInvalidation(ToFTransform, A.ImageOnlyTransform):
    """Drop pixels at grazing angles and far range (see :func:`functional.invalidate_low_signal`).

    Args:
        strength: range of the drop-probability scale, uniform.
        sensor: sensor name or profile: the range end (and intrinsics without a camera).
        p: probability.
    """

    def __init__(self, strength: tuple[float, float] = (0.2, 1.0), sensor: str | SensorProfile = "generic",
                 p: float = _TRAINING.invalid_p):
        super().__init__(p=p)
        self.strength, self.sensor = strength, sensor

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        return {"theta": _clean_angle(data, self.sensor), "strength": rng.uniform(*self.strength), "rng": rng}

    def _drop(self, depth: np.ndarray, theta: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
        return F.invalidate_low_signal(depth, theta, _profile(self.sensor).max_range_mm, rng, strength=strength)

    def apply(self, img: np.ndarray, theta: np.ndarray, strength: float, rng: np.random.Generator,
              **params: Any) -> np.ndarray:
        return _per_channel(self._drop, img, theta=theta, strength=strength, rng=rng)


class Speckle(ToFTransform, A.ImageOnlyTransform):
    """Invalidate a random fraction of the pixels (speckle dropouts).

    Args:
        fraction: range of the dropped fraction, uniform (0–3 %).
        p: probability.
    """

    def __init__(self, fraction: tuple[float, float] = (0.0, 0.03), p: float = _TRAINING.speckle_p):
        super().__init__(p=p)
        self.fraction = fraction

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        return {"fraction": rng.uniform(*self.fraction), "rng": rng}

    def apply(self, img: np.ndarray, fraction: float, rng: np.random.Generator, **params: Any) -> np.ndarray:
        return _per_channel(F.add_speckle, img, fraction=fraction, rng=rng)


class Holes(ToFTransform, A.ImageOnlyTransform):
    """Invalidate ``n`` random discs (see :func:`functional.add_holes`).

    Args:
        n: range of the number of discs, inclusive (1–3).
        radius_fraction: range of the largest disc radius as a fraction of the image width, uniform.
        p: probability.
    """

    def __init__(self, n: tuple[int, int] = (1, 3), radius_fraction: tuple[float, float] = (0.02, 0.06),
                 p: float = _TRAINING.holes_p):
        super().__init__(p=p)
        self.n, self.radius_fraction = n, radius_fraction

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        return {"count": int(rng.integers(self.n[0], self.n[1] + 1)), "fraction": rng.uniform(*self.radius_fraction),
                "rng": rng}

    def apply(self, img: np.ndarray, count: int, fraction: float, rng: np.random.Generator,
              **params: Any) -> np.ndarray:
        return _per_channel(F.add_holes, img, rng=rng, n=count, radius_px=fraction * img.shape[1])


class Saturation(ToFTransform, A.ImageOnlyTransform):
    """Saturation blobs on surfaces nearer than a multiple of the sensor's minimum range.

    See :func:`functional.add_saturation`.

    Args:
        near_factor: range of the saturation depth as a multiple of the sensor's ``min_range_mm``, uniform.
        radius_fraction: range of the blob radius as a fraction of the image width, uniform.
        n: number of blobs.
        sensor: sensor name or profile supplying the minimum range.
        p: probability.
    """

    def __init__(self, near_factor: tuple[float, float] = (1.2, 2.0),
                 radius_fraction: tuple[float, float] = (0.03, 0.08), n: int = 1,
                 sensor: str | SensorProfile = "generic", p: float = _TRAINING.saturation_p):
        super().__init__(p=p)
        self.near_factor, self.radius_fraction, self.n, self.sensor = near_factor, radius_fraction, n, sensor

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        return {"near": _profile(self.sensor).min_range_mm * rng.uniform(*self.near_factor),
                "fraction": rng.uniform(*self.radius_fraction), "rng": rng}

    def apply(self, img: np.ndarray, near: float, fraction: float, rng: np.random.Generator,
              **params: Any) -> np.ndarray:
        return _per_channel(F.add_saturation, img, rng=rng, near_mm=near, n=self.n, radius_px=fraction * img.shape[1])


class PhaseWrap(ToFTransform, A.ImageOnlyTransform):
    """Phase wrapping ``z mod R`` with the unambiguous range R a random fraction of the farthest valid depth.

    An image without a valid pixel is left as it is (and draws nothing).

    Args:
        range_fraction: range of R / (the image's largest depth), uniform.
        p: probability.
    """

    def __init__(self, range_fraction: tuple[float, float] = (0.6, 0.95), p: float = _TRAINING.wrap_p):
        super().__init__(p=p)
        self.range_fraction = range_fraction

    def draw(self, rng: np.random.Generator, data: dict[str, Any]) -> dict[str, Any]:
        farthest = float(_depth(data).max())
        if not farthest > 0:
            return {"unambiguous_mm": None}
        return {"unambiguous_mm": rng.uniform(*self.range_fraction) * farthest}

    def apply(self, img: np.ndarray, unambiguous_mm: float | None, **params: Any) -> np.ndarray:
        if unambiguous_mm is None:
            return img
        return _per_channel(F.phase_wrap, img, f_mod_hz=F.SPEED_OF_LIGHT_MM_S / (2.0 * unambiguous_mm))


class Quantise(_Stage, A.ImageOnlyTransform):
    """Round depth to whole millimetres (the uint16 storage grid)."""

    def __init__(self, p: float = 1.0):
        super().__init__(p=p)

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return _per_channel(F.quantise_mm, img)


#: Every transform class, for sweeps and discovery.
ALL_TRANSFORMS = (DepthRandomResizedCrop, DepthHorizontalFlip, DepthRotate, DepthScaleJitter, SurfaceAngle, Multipath,
                  AxialNoise, FlyingPixels, LowSignalInvalidation, Speckle, Holes, Saturation, PhaseWrap, Quantise)
