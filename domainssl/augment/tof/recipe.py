"""The ToF view recipe: how often a training view applies each op, and the ranges a run can set.

:class:`ViewRecipe` is the one definition of these fields and their defaults. The ``tof`` modality's
options (``modality.*`` keys) inherit it, :func:`~domainssl.augment.tof.views.view_transforms` turns
it into transforms, and the transform classes take their default probabilities and ranges from it.
Every other range an op draws from (e.g. the number of holes) belongs to its transform class.

Examples:
    >>> ViewRecipe(object_aware_crop=True).object_aware_crop
    0.8
    >>> ViewRecipe().noise_gain
    [0.5, 2.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Crop area range per method when the recipe does not set one: contrastive methods (negatives
#: available) take smaller crops, as in SimCLR / MoCo v2; BYOL / SimSiam slightly larger ones.
METHOD_CROP_SCALE: dict[str, tuple[float, float]] = {
    "simclr": (0.2, 1.0),
    "moco": (0.2, 1.0),
    "byol": (0.3, 1.0),
    "simsiam": (0.3, 1.0),
}
DEFAULT_CROP_SCALE = (0.3, 1.0)
OBJECT_AWARE_ON = 0.8  # the probability that ``object_aware_crop: true`` stands for


@dataclass
class ViewRecipe:
    """Probabilities and ranges of one ToF view (the view keys of ``modality.*``).

    Lists rather than tuples, so the config system can read and validate them from YAML.
    """

    object_aware_crop: float | bool = 0.0  # probability a view pair is centred on foreground (true = 0.8)
    crop_scale: list[float] | None = None  # crop area range, fraction of the frame; None = the method's default
    flip_p: float = 0.5
    rotate_p: float = 0.3
    rotate_deg: float = 10.0  # angle ~ U(-rotate_deg, rotate_deg), degrees
    scale_p: float = 0.8  # depth-scale jitter (stand-off change) probability
    scale_range: list[float] = field(default_factory=lambda: [0.8, 1.25])  # depth factor, log-uniform
    noise_p: float = 0.8  # axial noise (sensor model, surface angle) probability
    noise_gain: list[float] = field(default_factory=lambda: [0.5, 2.0])  # multiplies the sensor's σ
    flying_p: float = 0.5  # flying pixels at depth edges
    multipath_p: float = 0.3  # multipath bias in concave regions
    invalid_p: float = 0.5  # low-signal invalidation (angle, range)
    speckle_p: float = 0.5
    holes_p: float = 0.3
    saturation_p: float = 0.1
    wrap_p: float = 0.05  # phase wrapping

    def __post_init__(self) -> None:
        if isinstance(self.object_aware_crop, bool):
            self.object_aware_crop = OBJECT_AWARE_ON if self.object_aware_crop else 0.0
