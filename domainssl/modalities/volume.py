"""CT and MRI volumes (``ct``, ``mri``): NIfTI files and DICOM series folders, 2.5D slabs or native 3D.

``read(path)`` prepares a volume once and caches it (in memory or as ``.npy`` on disk):
load (:mod:`domainssl.modalities.volume_io`) -> ``Orientation("RAS")`` -> ``Spacing(options.spacing)``
-> intensity (CT: HU window to [0, 1]; MRI: percentile clip, foreground mask, z-score on the
foreground with ``NormalizeIntensity(nonzero=True)``) -> crop to the foreground bounding box.
The prepared sample is float32 (1, X, Y, Z) in RAS voxel order; background is 0.

``views`` draws 2.5D slabs (k slices as channels, for any timm 2D backbone) or 3D crops (for a MONAI
3D ResNet) with :class:`domainssl.augment.volume.VolumeViews`, then standardises them with the fitted
``mean``/``std``. Pick the mode with ``--set modality.volume_mode=3d``.

Examples:
    >>> ct = get_modality("ct", volume_mode="3d", window="soft_tissue")
    >>> volume = ct.read("scan.nii.gz")                     # (1, X, Y, Z) float32 in [0, 1]
    >>> ct.fit_stats([volume])
    >>> v1, v2 = ct.views("byol", 32, 2)(volume, np.random.default_rng(0))   # each (1, 32, 32, 32)
"""

from __future__ import annotations

import hashlib
import math
import os
from abc import abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import (
    ClipIntensityPercentiles,
    NormalizeIntensity,
    Orientation,
    ScaleIntensityRange,
    Spacing,
    SpatialCrop,
)
from monai.transforms.utils import generate_spatial_bounding_box
from monai.utils import convert_to_numpy

from domainssl.augment.volume import VolumeViews
from domainssl.errors import ConfigError, InvalidInputError
from domainssl.modalities.base import Modality, ViewFn
from domainssl.modalities.registry import register_modality
from domainssl.modalities.volume_io import load_volume, volume_items
from domainssl.paths import cache_dir

#: HU windows (a_min, a_max): wide (SwinUNETR / Models Genesis), soft tissue (W 221 / L 53),
#: lung (W 1500 / L -600), bone (W 1800 / L 400).
CT_WINDOWS: dict[str, tuple[float, float]] = {
    "wide": (-1000.0, 1000.0),
    "soft_tissue": (-57.0, 164.0),
    "lung": (-1350.0, 150.0),
    "bone": (-500.0, 1300.0),
}
CT_BODY_HU = -500.0  # voxels above this are body (not air) for foreground cropping


@dataclass
class VolumeOptions:
    """``modality.*`` keys shared by ``ct`` and ``mri``."""

    volume_mode: Literal["2.5d", "3d"] = "2.5d"  # 2.5d: k slices as channels of a 2D backbone; 3d: MONAI 3D net
    slices: int = 3  # k, adjacent slices per 2.5D slab (= in_chans)
    axis: Literal["random", "axial", "coronal", "sagittal"] = "random"  # 2.5D slab orientation
    spacing: list[float] | None = field(default_factory=lambda: [1.0, 1.0, 1.0])  # mm (x, y, z); None keeps native
    cache: Literal["memory", "disk", "none"] = "memory"  # where prepared volumes are kept between reads
    cache_dir: str | None = None  # disk cache folder; None = $DOMAINSSL_CACHE/volumes or ~/.cache/domainssl/volumes
    cache_size: int = 64  # volumes kept by the in-memory cache (least recently used are dropped)
    mean: list[float] | None = None  # per-channel mean of the prepared input (length in_chans); fitted
    std: list[float] | None = None


@dataclass
class CTOptions(VolumeOptions):
    """``modality.*`` keys of ``ct``."""

    spacing: list[float] | None = field(default_factory=lambda: [1.5, 1.5, 1.5])
    window: Literal["wide", "soft_tissue", "lung", "bone", "custom"] = "wide"
    a_min: float | None = None  # HU mapped to 0 (window=custom only)
    a_max: float | None = None  # HU mapped to 1 (window=custom only)


@dataclass
class MRIOptions(VolumeOptions):
    """``modality.*`` keys of ``mri``."""

    clip_percentiles: list[float] = field(default_factory=lambda: [0.5, 99.5])  # intensity clip before z-score
    foreground_fraction: float = 0.05  # foreground = voxels above this fraction of the upper clip value


class VolumeModality(Modality):
    """Shared reading, caching and views of CT and MRI volumes; subclasses set the intensity step."""

    extensions = (".nii", ".nii.gz", ".dcm")
    samples_per_file: ClassVar[int] = 32  # view pairs per volume per epoch: preparing a volume is the costly part
    bias_field: ClassVar[bool] = False  # add RandBiasField to the views (MRI)
    no_foreground_hint: ClassVar[str] = "no foreground voxels"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        o = self.options
        if o.slices < 1:
            raise ConfigError(f"modality.slices: must be >= 1, got {o.slices}")
        if o.spacing is not None and (len(o.spacing) != 3 or min(o.spacing) <= 0):
            raise ConfigError(f"modality.spacing: expected three positive mm values or null, got {o.spacing}")
        if o.cache_size < 1:
            raise ConfigError(f"modality.cache_size: must be >= 1, got {o.cache_size}")
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def spatial_dims(self) -> int:  # type: ignore[override]  # depends on options.volume_mode
        return 3 if self.options.volume_mode == "3d" else 2

    @property
    def in_chans(self) -> int:
        return 1 if self.options.volume_mode == "3d" else self.options.slices

    # -- files -------------------------------------------------------------------------------------

    def discover(self, paths: Sequence[str | Path]) -> list[Path]:
        """NIfTI files and DICOM series folders (one item per folder holding DICOM files), sorted, once each."""
        return sorted(set(super().discover(paths)))

    def folder_items(self, folder: Path) -> list[Path]:
        return volume_items(folder)

    # -- reading -----------------------------------------------------------------------------------

    def read(self, path: str | Path) -> np.ndarray:
        """The prepared volume of ``path``: float32 (1, X, Y, Z), RAS, resampled, normalised, cropped.

        Cached by path, modification time and the preparation options (see ``options.cache``).

        Raises:
            InvalidInputError: the file is missing, unreadable, 2D, 4D, holds NaN/Inf or no foreground.
        """
        path = Path(path)
        key = self._cache_key(path)
        if self.options.cache == "memory" and key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        disk = self._disk_path(path, key) if self.options.cache == "disk" else None
        if disk is not None and disk.is_file():
            return np.load(disk)
        volume = self.prepare(path)
        if self.options.cache == "memory":
            self._memory[key] = volume
            while len(self._memory) > self.options.cache_size:
                self._memory.popitem(last=False)
        elif disk is not None:
            disk.parent.mkdir(parents=True, exist_ok=True)
            tmp = disk.with_name(f".{disk.stem}.{os.getpid()}.npy")
            np.save(tmp, volume)
            os.replace(tmp, disk)
        return volume

    def prepare(self, path: str | Path) -> np.ndarray:
        """Load, reorient, resample, normalise and crop one volume (no cache). Shape (1, X, Y, Z) float32."""
        image = self.orient_resample(load_volume(path))
        mask = remove_specks(self.foreground(image))  # 1 x X x Y x Z bool
        if not mask.any():
            raise InvalidInputError(f"{path}: {self.no_foreground_hint}")
        image = self.normalise(image, mask)
        start, end = generate_spatial_bounding_box(torch.as_tensor(mask))
        cropped = SpatialCrop(roi_start=start, roi_end=end)(torch.Tensor(image))
        return np.ascontiguousarray(convert_to_numpy(cropped, dtype=np.float32))

    def orient_resample(self, image: MetaTensor) -> MetaTensor:
        """``Orientation("RAS")`` then ``Spacing(options.spacing)`` (bilinear; skipped when spacing is None)."""
        image = Orientation(axcodes="RAS", labels=None)(image)  # labels from the MetaTensor space (RAS)
        if self.options.spacing is not None:
            image = Spacing(pixdim=self.options.spacing, mode="bilinear", dtype=np.float32)(image)
        return image

    def validity(self, array: np.ndarray) -> np.ndarray:
        """Every finite voxel is a valid measurement (volumes have no sensor invalid code)."""
        return np.isfinite(np.asarray(array))

    @abstractmethod
    def foreground(self, image: Any) -> np.ndarray:
        """Boolean mask of the body / head in raw intensities, same shape as ``image``."""

    # -- views and statistics ----------------------------------------------------------------------

    def views(self, method: str, image_size: int, num_views: int) -> ViewFn:
        """The same crop + augmentation recipe for every SSL method; see :class:`VolumeViews`.

        The returned callable standardises each view with ``options.mean``/``std`` (fit them first).
        """
        o = self.options
        recipe = VolumeViews(o.volume_mode, image_size, num_views, o.slices, o.axis, bias_field=self.bias_field)
        return StandardisedViews(recipe, o)

    def fit_stats(self, samples: Sequence[Any]) -> None:
        """Mean and std over all voxels of the prepared ``samples`` (one value repeated for every channel)."""
        total = sum(s.size for s in samples)
        mean = sum(float(s.sum(dtype=np.float64)) for s in samples) / total
        var = sum(float(((s.astype(np.float64) - mean) ** 2).sum()) for s in samples) / total
        self.options.mean = [round(mean, 6)] * self.in_chans
        self.options.std = [round(max(math.sqrt(var), 1e-6), 6)] * self.in_chans

    def display(self, sample: Any) -> list[tuple[str, np.ndarray]]:
        """Orthogonal mid-slices of a prepared volume (1, X, Y, Z), anterior / superior up, patient left on the left.

        Also accepts a 3D view (1, S, S, S).
        """
        volume = np.asarray(sample)[0]
        x, y, z = (s // 2 for s in volume.shape)
        planes = {"axial": volume[:, :, z], "coronal": volume[:, y, :], "sagittal": volume[x, :, :]}
        return [(name, np.flipud(plane.T)) for name, plane in planes.items()]

    # -- cache -------------------------------------------------------------------------------------

    @abstractmethod
    def _prep_options(self) -> tuple:
        """The options that change the prepared volume (besides spacing), for the cache key."""

    def _cache_key(self, path: Path) -> str:
        try:
            stats = [path.stat()] + ([p.stat() for p in sorted(path.iterdir())] if path.is_dir() else [])
        except OSError as exc:
            raise InvalidInputError(f"{path}: no such file or folder, or not readable ({exc}); check --data") from exc
        stamp = (len(stats), max(s.st_mtime_ns for s in stats), sum(s.st_size for s in stats))
        return repr((self.name, str(path.resolve()), stamp, self.options.spacing, self._prep_options()))

    def _disk_path(self, path: Path, key: str) -> Path:
        root = self.options.cache_dir or cache_dir() / "volumes"
        digest = hashlib.sha1(key.encode()).hexdigest()[:16]
        return Path(root) / f"{path.name.split('.')[0]}-{digest}.npy"


def remove_specks(mask: np.ndarray) -> np.ndarray:
    """Morphological opening (3 x 3 x 3) of a (1, X, Y, Z) mask: drops isolated noise voxels, keeps the body.

    Returns the mask unchanged when the opening would leave nothing (very thin objects).
    """
    m = torch.as_tensor(mask, dtype=torch.float32)[None]  # 1 x 1 x X x Y x Z
    eroded = -torch.nn.functional.max_pool3d(-m, 3, stride=1, padding=1)
    opened = torch.nn.functional.max_pool3d(eroded, 3, stride=1, padding=1)[0].numpy() > 0.5
    return opened if opened.any() else mask


class StandardisedViews:
    """A :class:`VolumeViews` recipe followed by ``(view - mean) / std`` with the modality's fitted stats.

    Picklable (DataLoader workers); reads the stats at call time, so ``fit_stats`` may run after ``views``.
    """

    def __init__(self, recipe: VolumeViews, options: VolumeOptions) -> None:
        self.recipe, self.options = recipe, options

    def __call__(self, sample: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        if self.options.mean is None or self.options.std is None:
            raise RuntimeError("volume statistics not fitted: call modality.fit_stats(samples) before drawing views")
        mean = np.asarray(self.options.mean, np.float32)  # C
        std = np.asarray(self.options.std, np.float32)  # C
        views = self.recipe(sample, rng)  # each C x S x S (2.5d) or C x S x S x S (3d)
        shape = (-1, *[1] * (views[0].ndim - 1))
        return [((view - mean.reshape(shape)) / std.reshape(shape)).astype(np.float32) for view in views]


@register_modality
class CT(VolumeModality):
    """CT volumes in Hounsfield units, windowed to [0, 1] (``modality.window``)."""

    name = "ct"
    description = "CT volumes (NIfTI or DICOM series), HU window to [0, 1], 2.5D or 3D"
    Options = CTOptions
    no_foreground_hint = f"no voxel above {CT_BODY_HU:g} HU (no body in the volume); check the values are in HU"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        o = self.options
        if o.window == "custom":
            if o.a_min is None or o.a_max is None or o.a_min >= o.a_max:
                raise ConfigError(f"modality.window=custom needs a_min < a_max (HU), got a_min={o.a_min}, a_max={o.a_max}")
        elif o.a_min is not None or o.a_max is not None:
            raise ConfigError(f"modality.a_min/a_max apply only with window=custom (window is {o.window!r})")

    @property
    def hu_window(self) -> tuple[float, float]:
        """(a_min, a_max) in HU."""
        o = self.options
        return (o.a_min, o.a_max) if o.window == "custom" else CT_WINDOWS[o.window]

    def foreground(self, image: Any) -> np.ndarray:
        return convert_to_numpy(image) > CT_BODY_HU

    def normalise(self, array: Any, mask: np.ndarray) -> Any:
        """``ScaleIntensityRange(a_min, a_max, 0, 1, clip=True)``: HU to [0, 1]; ``mask`` is unused."""
        a_min, a_max = self.hu_window
        return ScaleIntensityRange(a_min=a_min, a_max=a_max, b_min=0.0, b_max=1.0, clip=True)(array)

    def _prep_options(self) -> tuple:
        return ("ct", self.hu_window)


@register_modality
class MRI(VolumeModality):
    """MRI volumes: percentile clip, then z-score on the foreground (background 0); MRI views add a bias field."""

    name = "mri"
    description = "MRI volumes (NIfTI or DICOM series), percentile clip + foreground z-score, 2.5D or 3D"
    Options = MRIOptions
    bias_field = True
    no_foreground_hint = "no foreground (all voxels equal or non-positive); check the file holds an MR image"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        p = self.options.clip_percentiles
        if len(p) != 2 or not 0.0 <= p[0] < p[1] <= 100.0:
            raise ConfigError(f"modality.clip_percentiles: expected [low, high] with 0 <= low < high <= 100, got {p}")
        if not 0.0 <= self.options.foreground_fraction < 1.0:
            raise ConfigError(f"modality.foreground_fraction: expected a value in [0, 1), got {self.options.foreground_fraction}")

    def _clip(self, image: Any) -> Any:
        low, high = self.options.clip_percentiles
        return ClipIntensityPercentiles(lower=low, upper=high)(image)

    def foreground(self, image: Any) -> np.ndarray:
        clipped = convert_to_numpy(self._clip(image))
        top = float(clipped.max())
        return (clipped > self.options.foreground_fraction * top) & (top > 0)

    def normalise(self, array: Any, mask: np.ndarray) -> Any:
        """Percentile clip, zero the background (``~mask``), z-score the foreground (``nonzero=True``)."""
        clipped = self._clip(array)
        clipped = clipped * torch.as_tensor(mask, dtype=clipped.dtype)
        return NormalizeIntensity(nonzero=True)(clipped)

    def _prep_options(self) -> tuple:
        return ("mri", tuple(self.options.clip_percentiles), self.options.foreground_fraction)


__all__ = ["CT", "CT_WINDOWS", "CTOptions", "MRI", "MRIOptions", "StandardisedViews", "VolumeModality", "VolumeOptions"]
