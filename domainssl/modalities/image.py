"""Generic image modalities: ``gray`` (1 channel) and ``rgb`` (3 channels), 8/16-bit or float.

Files are read losslessly with OpenCV ``IMREAD_UNCHANGED`` (PNG, TIFF) or numpy (``.npy``), so a
16-bit image keeps all 65,536 levels until :meth:`normalise` scales it by its dtype's maximum.
Views are albumentations pipelines: random resized crop, flip, and intensity changes that make
sense for the data (no hue/saturation on gray).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import albumentations as A
import cv2
import numpy as np

from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality, ViewFn
from domainssl.modalities.registry import register_modality


@dataclass
class ImageOptions:
    """``modality.*`` keys of ``gray`` and ``rgb``."""

    crop_scale: list[float] = field(default_factory=lambda: [0.2, 1.0])  # area fraction of the random crop
    flip_p: float = 0.5
    brightness: float = 0.2  # max additive change, in units of the full intensity range
    contrast: float = 0.2  # max relative contrast change
    gamma_p: float = 0.5  # probability of a gamma change in [0.8, 1.25]
    blur_p: float = 0.2
    mean: list[float] | None = None  # per-channel mean of the [0, 1]-scaled input; fitted from the data
    std: list[float] | None = None


class ImageModality(Modality):
    """Shared reading and views of 2D images with ``channels`` channels."""

    extensions = (".png", ".tif", ".tiff", ".npy")
    Options = ImageOptions
    channels: int

    @property
    def in_chans(self) -> int:
        return self.channels

    def read(self, path: str | Path) -> np.ndarray:
        """Read one image without loss. Returns (H, W, C) in the file's dtype (uint8, uint16 or float32)."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".npy":
                image = np.load(path, allow_pickle=False)
            else:
                image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                if image is not None and image.ndim == 3 and image.shape[2] >= 3:
                    image = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{path}: cannot be read ({exc}); check the file is not truncated") from exc
        if image is None:
            raise InvalidInputError(f"{path}: OpenCV cannot decode this file; convert it to PNG, TIFF or .npy")
        return self._check(np.asarray(image), path)

    def _check(self, image: np.ndarray, path: Path) -> np.ndarray:
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3:
            raise InvalidInputError(f"{path}: expected a 2D image, got an array of shape {image.shape}")
        if image.shape[2] != self.channels:
            other = "rgb" if image.shape[2] == 3 else "gray"
            raise InvalidInputError(
                f"{path}: has {image.shape[2]} channel(s) but modality {self.name!r} expects {self.channels}; "
                f"use --modality {other} or convert the file"
            )
        if image.dtype.kind == "f":
            if not np.isfinite(image).all():
                raise InvalidInputError(f"{path}: contains NaN or Inf values; clean or drop the file")
            image = image.astype(np.float32, copy=False)
        elif image.dtype not in (np.uint8, np.uint16):
            raise InvalidInputError(f"{path}: unsupported dtype {image.dtype}; use uint8, uint16 or float32")
        return image

    def validity(self, array: np.ndarray) -> np.ndarray:
        """Every pixel of a plain image is valid. Shape (H, W)."""
        return np.ones(array.shape[:2], dtype=bool)

    def to_unit(self, array: np.ndarray) -> np.ndarray:
        """Scale to float32 [0, 1] by the dtype's maximum (float data is taken as already scaled)."""
        if array.dtype.kind == "u":
            return array.astype(np.float32) / np.iinfo(array.dtype).max
        return array.astype(np.float32, copy=False)

    def normalise(self, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Standardised float32 network input, shape (C, H, W)."""
        return self._standardise(self.to_unit(array))

    def _standardise(self, unit: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.options.mean if self.options.mean is not None else [0.5] * self.channels)
        std = np.asarray(self.options.std if self.options.std is not None else [0.25] * self.channels)
        return ((unit - mean) / std).astype(np.float32).transpose(2, 0, 1)

    def fit_stats(self, samples: Sequence[Any]) -> None:
        """Per-channel mean and std of the [0, 1]-scaled pixels of ``samples``."""
        pixels = np.concatenate([self.to_unit(s).reshape(-1, self.channels) for s in samples])
        self.options.mean = [round(float(v), 6) for v in pixels.mean(0)]
        self.options.std = [round(max(float(v), 1e-6), 6) for v in pixels.std(0)]

    def intensity_ops(self) -> list[A.BasicTransform]:
        o = self.options
        return [
            A.RandomBrightnessContrast(brightness_limit=o.brightness, contrast_limit=o.contrast, p=0.8),
            A.RandomGamma(gamma_limit=(80, 125), p=o.gamma_p),
            A.GaussianBlur(blur_limit=(3, 5), p=o.blur_p),
        ]

    def views(self, method: str, image_size: int, num_views: int) -> ViewFn:
        """Independent albumentations draws per view: crop, flip, intensity; then standardise."""
        lo, hi = self.options.crop_scale
        pipeline = A.Compose(
            [
                A.RandomResizedCrop(size=(image_size, image_size), scale=(lo, hi)),
                A.HorizontalFlip(p=self.options.flip_p),
                *self.intensity_ops(),
            ]
        )

        def make_views(sample: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
            unit = self.to_unit(sample)
            out = []
            for _ in range(num_views):
                pipeline.set_random_seed(int(rng.integers(2**31)))
                view = pipeline(image=unit)["image"]
                out.append(self._standardise(np.clip(view, 0.0, 1.0)))
            return out

        return make_views


@register_modality
class Gray(ImageModality):
    """Single-channel images (8/16-bit PNG or TIFF, float ``.npy``): X-ray, thermal, IR, depth as image."""

    name = "gray"
    description = "single-channel 8/16-bit or float images"
    channels = 1


@register_modality
class RGB(ImageModality):
    """Three-channel images; adds mild colour jitter to the gray recipe."""

    name = "rgb"
    description = "three-channel 8/16-bit images"
    channels = 3

    def intensity_ops(self) -> list[A.BasicTransform]:
        jitter = A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, p=0.8)
        return [jitter, A.ToGray(p=0.2), *super().intensity_ops()[1:]]
