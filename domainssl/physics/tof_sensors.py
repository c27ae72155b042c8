"""Time-of-flight sensor profiles: resolution, pinhole intrinsics, working range and noise constants.

A :class:`SensorProfile` is what the ToF modality, its augmentations and the synthetic world need to
know about a camera. Resolutions, fields of view and ranges follow the datasheet values listed in
REFERENCE.md §2; noise constants are model parameters (σ at 1 m, cap at range end), not datasheet
numbers. ``f_mod_hz`` is the frequency whose unambiguous range ``c / (2 f)`` bounds what the sensor
reports after its own multi-frequency unwrapping (the phase-wrap view draws its range from the frame).

Examples:
    >>> profile = get_sensor("kinect_v2")
    >>> profile.width, profile.height
    (512, 424)
    >>> small = scaled(profile, 128, 106)
    >>> round(small.fx / profile.fx, 3)
    0.25
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

SPEED_OF_LIGHT_MM_S = 299_792_458_000.0  # millimetres per second


@dataclass(frozen=True)
class SensorProfile:
    """One ToF camera model.

    Attributes:
        name: registry name (``modality.sensor=NAME``).
        width, height: native resolution, pixels.
        fx, fy, cx, cy: pinhole intrinsics at that resolution, pixels (pixel centres at integers).
        min_range_mm, max_range_mm: working range; depths outside it are reported invalid (0).
        f_mod_hz: modulation frequency bounding the unambiguous range ``c / (2 f_mod)``.
        sigma_ref_mm: AMCW axial noise σ at 1 m on a frontal, fully reflective surface.
        sigma_cap_mm: upper bound of the axial noise σ (the random error near the range end).
        noise_model: ``"amcw"`` (shot noise, σ ∝ d / √(ρ cos θ)) or ``"kinect"`` (Nguyen et al. 2012).
        ambient: True when ambient light dominates the shot noise (σ ∝ d² / (ρ cos θ)).
        multipath_beta: strength of the concave-corner multipath bias in :func:`simulate_sensor`.
        flying_p_mix, flying_p_drop: per-edge-pixel probabilities of mixed and dropped flying pixels.
        low_signal_strength: scale of the low-signal invalidation probability (0 disables it).
        speckle_fraction: fraction of valid pixels randomly dropped.
        description: one line for people.
    """

    name: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    min_range_mm: float
    max_range_mm: float
    f_mod_hz: float
    sigma_ref_mm: float
    sigma_cap_mm: float
    noise_model: Literal["amcw", "kinect"] = "amcw"
    ambient: bool = False
    multipath_beta: float = 0.15
    flying_p_mix: float = 0.5
    flying_p_drop: float = 0.3
    low_signal_strength: float = 1.0
    speckle_fraction: float = 0.005
    description: str = ""

    @property
    def unambiguous_range_mm(self) -> float:
        """``c / (2 f_mod)`` in millimetres (20 MHz → 7,495 mm)."""
        return SPEED_OF_LIGHT_MM_S / (2.0 * self.f_mod_hz)


def from_fov(name: str, width: int, height: int, hfov_deg: float, vfov_deg: float, **kwargs) -> SensorProfile:
    """Build a profile from resolution and full horizontal / vertical field of view (degrees)."""
    fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    fy = (height / 2.0) / math.tan(math.radians(vfov_deg) / 2.0)
    return SensorProfile(name=name, width=width, height=height, fx=fx, fy=fy,
                         cx=(width - 1) / 2.0, cy=(height - 1) / 2.0, **kwargs)


SENSORS: dict[str, SensorProfile] = {
    p.name: p
    for p in (
        from_fov("generic", 320, 240, 70.0, 55.0, min_range_mm=250.0, max_range_mm=5000.0, f_mod_hz=20e6,
                 sigma_ref_mm=2.0, sigma_cap_mm=25.0,
                 description="a mid-range indoor ToF camera (QVGA, 70°x55°, 0.25-5 m)"),
        from_fov("azure_kinect_nfov", 640, 576, 75.0, 65.0, min_range_mm=500.0, max_range_mm=3860.0,
                 f_mod_hz=30e6, sigma_ref_mm=3.0, sigma_cap_mm=17.0,
                 description="Azure Kinect narrow FoV unbinned (640x576, 75°x65°, 0.5-3.86 m, σ ≤ 17 mm)"),
        from_fov("sony_imx556", 640, 480, 69.0, 51.0, min_range_mm=300.0, max_range_mm=6000.0, f_mod_hz=20e6,
                 sigma_ref_mm=2.0, sigma_cap_mm=25.0,
                 description="Sony IMX556 DepthSense VGA sensor behind a ~69°x51° lens (0.3-6 m)"),
        from_fov("kinect_v2", 512, 424, 70.6, 60.0, min_range_mm=500.0, max_range_mm=4500.0, f_mod_hz=16e6,
                 sigma_ref_mm=1.9, sigma_cap_mm=30.0, noise_model="kinect",
                 description="Kinect v2 (512x424, 70.6°x60°, 0.5-4.5 m), Nguyen et al. axial noise"),
    )
}

#: Names accepted by ``modality.sensor`` (kept as a Literal so the config validates them).
SensorName = Literal["generic", "azure_kinect_nfov", "sony_imx556", "kinect_v2"]


def get_sensor(name: str) -> SensorProfile:
    """The profile called ``name``.

    Raises:
        KeyError: unknown name; the message lists the known ones.
    """
    if name not in SENSORS:
        raise KeyError(f"unknown ToF sensor {name!r}; known sensors: {sorted(SENSORS)} "
                       f"(set one with --set modality.sensor=NAME)")
    return SENSORS[name]


def scaled(profile: SensorProfile, width: int, height: int) -> SensorProfile:
    """The same camera resampled to ``width`` x ``height`` pixels (intrinsics scaled accordingly).

    Pixel centres sit at integer coordinates, so ``c' = (c + 0.5) * s - 0.5``.
    """
    if (width, height) == (profile.width, profile.height):
        return profile
    sx, sy = width / profile.width, height / profile.height
    return dataclasses.replace(profile, width=width, height=height, fx=profile.fx * sx, fy=profile.fy * sy,
                               cx=(profile.cx + 0.5) * sx - 0.5, cy=(profile.cy + 0.5) * sy - 0.5)
