"""ToF depth augmentations: pure ops (:mod:`.functional`), albumentations classes that own each op's
random draw (:mod:`.transforms`), the view recipe (:mod:`.recipe`), and the training view built from
those classes with the object-aware crop (:mod:`.views`)."""

from domainssl.augment.tof import functional
from domainssl.augment.tof.functional import simulate_sensor, surface_angle
from domainssl.augment.tof.recipe import DEFAULT_CROP_SCALE, METHOD_CROP_SCALE, ViewRecipe
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
    SurfaceAngle,
    ToFTransform,
    ViewCamera,
)
from domainssl.augment.tof.views import foreground_mask, make_view, run_view, view_transforms

__all__ = [
    "ALL_TRANSFORMS",
    "AxialNoise",
    "DEFAULT_CROP_SCALE",
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
    "SurfaceAngle",
    "ToFTransform",
    "ViewCamera",
    "ViewRecipe",
    "foreground_mask",
    "functional",
    "make_view",
    "run_view",
    "simulate_sensor",
    "surface_angle",
    "view_transforms",
]
