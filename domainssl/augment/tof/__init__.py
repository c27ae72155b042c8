"""ToF depth augmentations: pure ops (:mod:`.functional`), albumentations classes (:mod:`.transforms`),
and the per-method view recipe with the object-aware crop (:mod:`.views`)."""

from domainssl.augment.tof import functional
from domainssl.augment.tof.functional import simulate_sensor, surface_angle
from domainssl.augment.tof.transforms import (
    ALL_TRANSFORMS,
    AxialNoise,
    DepthHorizontalFlip,
    DepthRandomResizedCrop,
    DepthRotate,
    DepthScaleJitter,
    FlyingPixels,
    Holes,
    LowSignalInvalidation,
    Multipath,
    PhaseWrap,
    Quantise,
    Saturation,
    Speckle,
)
from domainssl.augment.tof.views import METHOD_CROP_SCALE, ViewRecipe, foreground_mask, make_view

__all__ = [
    "ALL_TRANSFORMS",
    "AxialNoise",
    "DepthHorizontalFlip",
    "DepthRandomResizedCrop",
    "DepthRotate",
    "DepthScaleJitter",
    "FlyingPixels",
    "Holes",
    "LowSignalInvalidation",
    "METHOD_CROP_SCALE",
    "Multipath",
    "PhaseWrap",
    "Quantise",
    "Saturation",
    "Speckle",
    "ViewRecipe",
    "foreground_mask",
    "functional",
    "make_view",
    "simulate_sensor",
    "surface_angle",
]
