"""Time-of-flight depth frames: lossless reading, validity, normalisation and physics-aware views.

Files: 16-bit PNG (uint16 millimetres, 0 = invalid), ``.npy`` / ``.npz`` (uint16 mm or float
metres), float32 TIFF (metres). ``modality.units`` overrides the unit (``auto``: integer files are
millimetres, float files metres). Non-finite and ≤ 0 values are invalid. :meth:`ToF.read` returns
float32 millimetres, which holds every uint16 level exactly.

Normalisation keeps "invalid" apart from "near": a valid depth maps to
``0.1 + 0.9 · min(z, R) / R`` (R = ``max_range_mm``, the sensor's range end by default), so valid
pixels lie in [0.1, 1] and invalid pixels are exactly 0 — a gap of 0.1 that no measurement can
cross. With ``channels: [depth, valid]`` the validity mask is a second channel. Each channel is then
standardised with the fitted ``mean`` / ``std`` (of the [0, 1]-scaled channels, as timm's
``pretrained_cfg`` expects), which travel with the run and the export.

Examples:
    >>> tof = ToF(ToFOptions(channels=["depth", "valid"]))
    >>> tof.in_chans
    2
    >>> frame = np.array([[0.0, 500.0], [2500.0, 9000.0]], np.float32)
    >>> [[round(float(v), 3) for v in row] for row in tof.scale(frame, tof.validity(frame))[0]]
    [[0.0, 0.19], [0.55, 1.0]]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import cv2
import numpy as np

from domainssl.augment.tof.recipe import DEFAULT_CROP_SCALE, METHOD_CROP_SCALE, ViewRecipe
from domainssl.augment.tof.views import foreground_point, run_view, view_transforms
from domainssl.errors import ConfigError, InvalidInputError
from domainssl.modalities.base import Modality, ViewFn
from domainssl.modalities.registry import register_modality
from domainssl.physics.tof_sensors import SENSORS, SensorName, SensorProfile, get_sensor

INVALID_GAP = 0.1  # valid depths map to [INVALID_GAP, 1]; invalid is exactly 0
ALLOWED_CHANNELS = (["depth"], ["depth", "valid"])
DEFAULT_STATS = {"depth": (0.5, 0.3), "valid": (0.9, 0.3)}  # used only before fit_stats()


@dataclass
class FrameOptions:
    """The ``modality.*`` keys of ``tof`` about the frames themselves (first in ``RUN/config.yaml``)."""

    sensor: SensorName = "generic"  # camera profile: range, intrinsics, noise constants
    units: Literal["auto", "mm", "m"] = "auto"  # auto: integer files in mm, float files in m
    channels: list[str] = field(default_factory=lambda: ["depth"])  # [depth] or [depth, valid]
    max_range_mm: float | None = None  # normalisation range end; None = the sensor's max range


#: The probability keys: every ``*_p`` view key, and the object-aware crop's.
PROBABILITY_KEYS = (*(f.name for f in dataclasses.fields(ViewRecipe) if f.name.endswith("_p")), "object_aware_crop")


@dataclass
class ToFOptions(ViewRecipe, FrameOptions):
    """``modality.*`` keys of ``tof`` (set with ``--set modality.KEY=VALUE``).

    The frame keys of :class:`FrameOptions`, the view keys of
    :class:`~domainssl.augment.tof.recipe.ViewRecipe` (probabilities and ranges), and the fitted
    normalisation statistics, in that order.
    """

    mean: list[float] | None = None  # per-channel mean of the [0, 1]-scaled input; fitted from the data
    std: list[float] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sensor not in SENSORS:
            raise ConfigError(f"modality.sensor: {self.sensor!r} is not known; choose one of {sorted(SENSORS)}")
        if list(self.channels) not in ALLOWED_CHANNELS:
            raise ConfigError(f"modality.channels: {self.channels!r} is not allowed; use [depth] or [depth, valid]")
        for key in PROBABILITY_KEYS:
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"modality.{key}: {getattr(self, key)} is not a probability in [0, 1]")
        if self.crop_scale is not None and not (len(self.crop_scale) == 2 and 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1):
            raise ConfigError(f"modality.crop_scale: {self.crop_scale} must be [lo, hi] with 0 < lo <= hi <= 1")
        for key in ("scale_range", "noise_gain"):
            lo_hi = getattr(self, key)
            if not (len(lo_hi) == 2 and 0 < lo_hi[0] <= lo_hi[1]):
                raise ConfigError(f"modality.{key}: {lo_hi} must be [lo, hi] with 0 < lo <= hi")
        if self.max_range_mm is not None and self.max_range_mm <= 0:
            raise ConfigError(f"modality.max_range_mm: {self.max_range_mm} must be positive (millimetres)")
        for key in ("mean", "std"):
            value = getattr(self, key)
            if value is not None and len(value) != len(self.channels):
                raise ConfigError(f"modality.{key}: needs {len(self.channels)} value(s) (one per channel), got {value}")


@register_modality
class ToF(Modality):
    """Time-of-flight depth: uint16 millimetres with 0 = invalid, a sensor profile, physics-aware views."""

    name = "tof"
    description = "time-of-flight depth frames (16-bit PNG mm, npy/npz, float TIFF m)"
    extensions = (".png", ".npy", ".npz", ".tif", ".tiff")
    Options = ToFOptions

    @property
    def in_chans(self) -> int:
        return len(self.options.channels)

    @property
    def sensor(self) -> SensorProfile:
        return get_sensor(self.options.sensor)

    @property
    def max_range_mm(self) -> float:
        return self.options.max_range_mm or self.sensor.max_range_mm

    # ------------------------------------------------------------------------------------ reading

    def read(self, path: str | Path) -> np.ndarray:
        """Read one depth frame. Returns (H, W) float32 millimetres, 0 = invalid.

        Raises:
            InvalidInputError: unreadable, not 2D single-channel, 8-bit, or without a valid pixel.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix == ".npy":
                raw = np.load(path, allow_pickle=False)
            elif suffix == ".npz":
                raw = self._npz_array(path)
            else:
                raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{path}: cannot be read ({exc}); check the file is not truncated") from exc
        if raw is None:
            raise InvalidInputError(f"{path}: OpenCV cannot decode this file; save depth as 16-bit PNG (mm) or .npy")
        return self._to_mm(np.asarray(raw), path)

    @staticmethod
    def _npz_array(path: Path) -> np.ndarray:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if "depth" in keys:
                return archive["depth"]
            if len(keys) == 1:
                return archive[keys[0]]
        raise InvalidInputError(f"{path}: .npz holds {keys}; store the depth map under the key 'depth'")

    def _to_mm(self, raw: np.ndarray, path: Path) -> np.ndarray:
        if raw.ndim == 3 and raw.shape[-1] == 1:
            raw = raw[..., 0]
        if raw.ndim == 3 and raw.shape[-1] in (3, 4):
            raise InvalidInputError(f"{path}: has {raw.shape[-1]} channels (a colour-mapped picture?); ToF depth "
                                    "must be one channel: uint16 millimetres or float metres")
        if raw.ndim != 2:
            raise InvalidInputError(f"{path}: expected a 2D depth map, got an array of shape {raw.shape}")
        if raw.dtype.kind not in "uif" or raw.dtype.itemsize < 2:
            raise InvalidInputError(f"{path}: dtype {raw.dtype} cannot hold depth; use uint16 millimetres "
                                    "(0 = invalid) or float32 metres")
        units = self.options.units
        if units == "auto":
            units = "m" if raw.dtype.kind == "f" else "mm"
        depth = raw.astype(np.float64) * (1000.0 if units == "m" else 1.0)
        valid = np.isfinite(depth) & (depth > 0)
        if not valid.any():
            raise InvalidInputError(f"{path}: holds no valid depth (all values are 0, negative or non-finite)")
        if self.options.units == "auto" and raw.dtype.kind == "f" and np.median(depth[valid]) > 100_000:
            raise InvalidInputError(f"{path}: float depth with a median of {np.median(depth[valid]) / 1000:.0f} km "
                                    "when read as metres; if it is millimetres, set --set modality.units=mm")
        return np.where(valid, depth, 0.0).astype(np.float32)

    def validity(self, array: np.ndarray) -> np.ndarray:
        """True where the frame holds a measurement (> 0 mm). Shape (H, W)."""
        return np.asarray(array) > 0

    # ------------------------------------------------------------------------------------ normalisation

    def scale(self, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """[0, 1]-scaled channels (C, H, W) float32: depth ``0.1 + 0.9 · min(z, R) / R`` (0 = invalid), valid."""
        depth = np.clip(np.asarray(array, np.float32) / np.float32(self.max_range_mm), 0.0, 1.0)
        channels = [np.where(mask, INVALID_GAP + (1.0 - INVALID_GAP) * depth, 0.0)]
        if "valid" in self.options.channels:
            channels.append(mask)
        return np.stack(channels).astype(np.float32)  # C x H x W

    def normalise(self, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Standardised network input (C, H, W) float32: ``(scale(array) − mean) / std`` per channel."""
        mean, std = self._mean_std()
        return ((self.scale(array, mask) - mean[:, None, None]) / std[:, None, None]).astype(np.float32)

    def _mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        names = self.options.channels
        mean = self.options.mean if self.options.mean is not None else [DEFAULT_STATS[c][0] for c in names]
        std = self.options.std if self.options.std is not None else [DEFAULT_STATS[c][1] for c in names]
        return np.asarray(mean, np.float32), np.asarray(std, np.float32)

    def fit_stats(self, samples: Sequence[Any]) -> None:
        """Per-channel mean / std of the [0, 1]-scaled channels of whole ``samples`` (read frames)."""
        scaled = [self.scale(s, self.validity(s)).reshape(self.in_chans, -1) for s in samples]
        pixels = np.concatenate(scaled, axis=1)  # C x N
        self.options.mean = [round(float(v), 6) for v in pixels.mean(1)]
        self.options.std = [round(max(float(v), 1e-6), 6) for v in pixels.std(1)]

    # ------------------------------------------------------------------------------------ views

    def recipe(self, method: str) -> ViewRecipe:
        """The view keys of the options, with the method's crop scale unless ``crop_scale`` is set."""
        view = {f.name: getattr(self.options, f.name) for f in dataclasses.fields(ViewRecipe)}
        if view["crop_scale"] is None:
            view["crop_scale"] = list(METHOD_CROP_SCALE.get(method, DEFAULT_CROP_SCALE))
        return ViewRecipe(**view)

    def views(self, method: str, image_size: int, num_views: int) -> ViewFn:
        """``fn(depth_mm, rng) -> num_views`` normalised float32 arrays (C, image_size, image_size).

        Each view is an independent draw from ``rng``; with probability ``object_aware_crop`` all
        views of the sample are placed around one foreground point (see :mod:`domainssl.augment.tof.views`).
        """
        recipe, sensor = self.recipe(method), self.sensor
        transforms = view_transforms(recipe, sensor, image_size)

        def make_views(sample: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
            centre = None
            if recipe.object_aware_crop > 0 and rng.random() < recipe.object_aware_crop:
                centre = foreground_point(sample, sensor, rng)
            views = [run_view(transforms, sample, rng, sensor, centre) for _ in range(num_views)]
            return [self.normalise(v, v > 0) for v in views]

        return make_views

    def display(self, sample: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Two panels: depth in metres (NaN where invalid, so colour maps show holes) and the validity mask."""
        depth = np.asarray(sample, np.float32)
        valid = self.validity(depth)
        return [("depth (m)", np.where(valid, depth / 1000.0, np.nan)), (f"valid ({valid.mean():.0%})", valid.astype(np.float32))]
