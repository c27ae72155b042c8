"""View recipes for CT/MRI volumes: 3D crops and 2.5D slab crops, built from MONAI dictionary transforms.

Input is a prepared volume: float32 (1, X, Y, Z) in RAS voxel order (axis 0 = sagittal index,
1 = coronal, 2 = axial), intensity already windowed (CT, [0, 1]) or z-scored (MRI); 0 is background.

* ``3d``: ``SpatialPadd`` -> ``RandSpatialCropSamplesd`` (one independent crop per view, side S),
  then each view's own draw of flips, ``RandRotate90d``, a small ``RandAffined``, intensity scale/shift,
  gamma, Gaussian noise, ``RandCoarseDropoutd``, ``RandCoarseShuffled`` (+ ``RandBiasFieldd`` for MRI).
  View shape (1, S, S, S).
* ``2.5d``: per view an axis (fixed or drawn), then a random box of k adjacent slices x S x S whose
  slice axis becomes the channel axis, then the same recipe in 2D. View shape (k, S, S).

Every random draw comes from the ``numpy.random.Generator`` passed in: each MONAI transform chain is
re-seeded from it on every call, so the same generator state gives the same views in any process.

Examples:
    >>> views = VolumeViews("3d", image_size=32, num_views=2)
    >>> v1, v2 = views(np.zeros((1, 40, 40, 40), np.float32), np.random.default_rng(0))
    >>> v1.shape
    (1, 32, 32, 32)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from monai.transforms import (
    Compose,
    MapTransform,
    RandAdjustContrastd,
    RandAffined,
    RandBiasFieldd,
    RandCoarseDropoutd,
    RandCoarseShuffled,
    RandFlipd,
    RandGaussianNoised,
    RandRotate90d,
    RandScaleIntensityd,
    RandShiftIntensityd,
    RandSpatialCropd,
    RandSpatialCropSamplesd,
    SpatialPad,
)
from monai.utils import convert_to_numpy

#: RAS voxel axis that a slice of each orientation keeps fixed, for a (C, X, Y, Z) volume.
AXES: dict[str, int] = {"sagittal": 0, "coronal": 1, "axial": 2}
KEYS = ("image",)


def augment_transforms(spatial_dims: int, image_size: int, bias_field: bool) -> list[MapTransform]:
    """The per-view augmentation chain (MONAI dictionary transforms on key ``"image"``).

    Args:
        spatial_dims: 3 for (1, S, S, S) crops, 2 for (k, S, S) slabs (slices are channels).
        image_size: crop side S in voxels; sets the size of dropout / shuffle holes (S/8 to S/4).
        bias_field: add a smooth multiplicative bias field (MRI inhomogeneity).

    Returns:
        Transforms that keep the shape; geometric ones pad with 0 (background).
    """
    hole, max_hole = max(1, image_size // 8), max(2, image_size // 4)
    rotate = [np.deg2rad(15.0)] * (3 if spatial_dims == 3 else 1)
    ops: list[MapTransform] = [RandFlipd(KEYS, prob=0.5, spatial_axis=axis) for axis in range(spatial_dims)]
    ops += [
        RandRotate90d(KEYS, prob=0.5, max_k=3, spatial_axes=(0, 1)),
        RandAffined(KEYS, prob=0.5, rotate_range=rotate, scale_range=[0.1] * spatial_dims, padding_mode="zeros"),
        RandScaleIntensityd(KEYS, factors=0.1, prob=0.8),
        RandShiftIntensityd(KEYS, offsets=0.1, prob=0.8),
        RandAdjustContrastd(KEYS, gamma=(0.7, 1.5), prob=0.5),
        RandGaussianNoised(KEYS, prob=0.2, std=0.03),
        RandCoarseDropoutd(KEYS, holes=2, max_holes=6, spatial_size=hole, max_spatial_size=max_hole, fill_value=0.0, prob=0.3),
        RandCoarseShuffled(KEYS, holes=2, max_holes=6, spatial_size=hole, max_spatial_size=max_hole, prob=0.2),
    ]
    if bias_field:
        ops.append(RandBiasFieldd(KEYS, prob=0.3, coeff_range=(0.0, 0.1)))
    return ops


class VolumeViews:
    """Callable view function ``views(volume, rng) -> [view_1, ..., view_n]`` for prepared volumes.

    Args:
        mode: ``"3d"`` (views (1, S, S, S)) or ``"2.5d"`` (views (k, S, S)).
        image_size: view side S in voxels.
        num_views: views per call; each is its own crop and its own augmentation draw.
        slices: k, adjacent slices per 2.5D slab.
        axis: slab orientation, ``"random"`` draws one per view.
        bias_field: add ``RandBiasFieldd`` (MRI).
        augment: False keeps only the crops (for tests and previews of the crop geometry).

    Volumes smaller than a view are zero-padded (symmetrically) first. The input is never modified.
    """

    def __init__(
        self,
        mode: Literal["2.5d", "3d"],
        image_size: int,
        num_views: int,
        slices: int = 3,
        axis: Literal["random", "axial", "coronal", "sagittal"] = "random",
        bias_field: bool = False,
        augment: bool = True,
    ) -> None:
        if mode not in ("2.5d", "3d"):
            raise ValueError(f"mode must be '2.5d' or '3d', got {mode!r}")
        if axis != "random" and axis not in AXES:
            raise ValueError(f"axis must be 'random' or one of {list(AXES)}, got {axis!r}")
        if slices < 1 or image_size < 2 or num_views < 1:
            raise ValueError(f"need slices >= 1, image_size >= 2, num_views >= 1; got {slices}, {image_size}, {num_views}")
        self.mode, self.image_size, self.num_views = mode, image_size, num_views
        self.slices, self.axis = slices, axis
        size = image_size
        self._pad = SpatialPad([max(size, slices)] * 3)
        self._samples = RandSpatialCropSamplesd(KEYS, roi_size=[size] * 3, num_samples=num_views)
        self._slab_crops = {
            name: RandSpatialCropd(KEYS, roi_size=[slices if a == axis_index else size for a in range(3)])
            for name, axis_index in AXES.items()
        }
        dims = 3 if mode == "3d" else 2
        self._augment = [Compose(augment_transforms(dims, size, bias_field)) for _ in range(num_views)] if augment else None

    def __call__(self, volume: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Draw the views of one volume.

        Args:
            volume: float32 (1, X, Y, Z), RAS voxel order.
            rng: source of every random draw.

        Returns:
            ``num_views`` float32 arrays, (1, S, S, S) in 3d or (k, S, S) in 2.5d.
        """
        if volume.ndim != 4 or volume.shape[0] != 1:
            raise ValueError(f"expected a prepared volume of shape (1, X, Y, Z), got {volume.shape}")
        image = self._pad(torch.as_tensor(volume))  # 1 x X' x Y' x Z', each side >= S
        crops = self._crops_3d(image, rng) if self.mode == "3d" else self._slabs(image, rng)
        views = []
        for i, crop in enumerate(crops):
            crop = torch.Tensor(crop).clone()  # plain tensor, no stale 3D affine; never write into the cached volume
            if self._augment is not None:
                self._augment[i].set_random_state(seed=_seed(rng))
                crop = self._augment[i]({"image": crop})["image"]
            views.append(np.ascontiguousarray(convert_to_numpy(crop, dtype=np.float32)))
        return views

    def _crops_3d(self, image: torch.Tensor, rng: np.random.Generator) -> list[torch.Tensor]:
        self._samples.set_random_state(seed=_seed(rng))
        return [item["image"] for item in self._samples({"image": image})]  # each 1 x S x S x S

    def _slabs(self, image: torch.Tensor, rng: np.random.Generator) -> list[torch.Tensor]:
        names = list(AXES)
        slabs = []
        for _ in range(self.num_views):
            name = names[int(rng.integers(3))] if self.axis == "random" else self.axis
            crop = self._slab_crops[name]
            crop.set_random_state(seed=_seed(rng))
            box = crop({"image": image})["image"][0]  # S x S x S with k along the slab axis
            slabs.append(torch.movedim(box, AXES[name], 0))  # k x S x S
        return slabs


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))
