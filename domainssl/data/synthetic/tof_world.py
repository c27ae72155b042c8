"""The synthetic ToF world: one call renders one labelled frame, clean and as a sensor measures it.

Frame ``index`` of a dataset with ``seed`` depends only on ``(seed, index)`` (its random source is
``numpy.random.default_rng([seed, index])``), so frames can be rendered in any order, in parallel,
and always come out the same. Ray casting is analytic (``raycast.py``); the measured frame comes
from the sensor model :func:`domainssl.physics.tof_measurement.simulate_sensor`.

Examples:
    >>> frame = render_frame(0, scene="object", width=64, height=48)
    >>> frame.measured.dtype, frame.measured.shape
    (dtype('uint16'), (48, 64))
    >>> CLASS_NAMES[frame.label - 1] in CLASS_NAMES
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from domainssl.data.synthetic.raycast import Render, render
from domainssl.data.synthetic.scene import CLASS_NAMES, Intrinsics, Scene, sample_cluttered, sample_object
from domainssl.physics.tof_measurement import simulate_sensor
from domainssl.physics.tof_sensors import SensorProfile, get_sensor, scaled

#: Bumped whenever the same (seed, index) would render a different frame; part of cache keys.
GENERATOR_VERSION = "1"
SCENES: tuple[str, ...] = ("cluttered", "object")
MIN_DOMINANT_FRACTION = 0.15  # object scenes: the dominant solid covers at least this share of the frame
_MAX_POSES = 40


@dataclass
class Frame:
    """One rendered frame; images are (H, W).

    Attributes:
        measured: uint16 depth as the sensor reports it, mm, 0 = invalid.
        clean: float32 ray-cast Z-depth, mm, 0 where no surface is hit.
        semantic: uint8 class id per pixel (0 = floor, wall or nothing; ``CLASS_NAMES[i - 1]`` for i >= 1).
        instance: uint8 instance id per pixel, 0 = background, 1..M over the visible solids in
            placement order (object scenes: 1 is the dominant solid).
        reflectivity: float32 surface albedo in [0, 1].
        theta: float32 angle between surface normal and ray, radians.
        boxes: int64 (M, 4) tight ``[x, y, w, h]`` pixel boxes of instances 1..M.
        classes: int64 (M,) class id of instances 1..M.
        label: class id of the dominant solid (object scenes), else None.
    """

    measured: np.ndarray
    clean: np.ndarray
    semantic: np.ndarray
    instance: np.ndarray
    reflectivity: np.ndarray
    theta: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    label: int | None


def camera_for(sensor: str | SensorProfile, width: int, height: int) -> tuple[SensorProfile, Intrinsics]:
    """The sensor profile and ray-casting intrinsics of ``sensor`` at ``width`` x ``height`` pixels."""
    profile = get_sensor(sensor) if isinstance(sensor, str) else sensor
    cam = scaled(profile, width, height)
    return profile, Intrinsics(width, height, cam.fx, cam.fy, cam.cx, cam.cy, cam.min_range_mm, cam.max_range_mm)


def object_class(index: int, seed: int) -> int:
    """Class id (1..K) of the dominant solid in object-scene frame ``index``.

    Each consecutive block of K frames holds every class once, in a seeded random order, so
    classes are balanced (exactly, when the frame count is a multiple of K).
    """
    k = len(CLASS_NAMES)
    order = np.random.default_rng([seed, index // k, k]).permutation(k)
    return int(order[index % k]) + 1


def render_frame(index: int, scene: str = "cluttered", width: int = 320, height: int = 240,
                 sensor: str | SensorProfile = "generic", seed: int = 0) -> Frame:
    """Render frame ``index`` of the ``scene`` family: clean depth, labels and the measured frame.

    Args:
        index: frame number (>= 0); with ``seed`` it fixes everything about the frame.
        scene: ``"cluttered"`` (3–8 solids) or ``"object"`` (one dominant solid, >= 15 % of pixels).
        width, height: image size, pixels.
        sensor: a sensor name from :mod:`domainssl.physics.tof_sensors` or a profile.
        seed: dataset seed.
    """
    if scene not in SCENES:
        raise ValueError(f"scene {scene!r} is not known; choose one of {list(SCENES)}")
    profile, intr = camera_for(sensor, width, height)
    rng = np.random.default_rng([seed, index])
    if scene == "cluttered":
        world = sample_cluttered(rng, intr)
        clean, label = render(world, intr), None
    else:
        label = object_class(index, seed)
        world, clean = _posed_object(rng, intr, label)
    measured = simulate_sensor(clean.depth, profile, rng, reflectivity=clean.reflectivity, theta=clean.theta)
    instance, classes = _visible_instances(clean.instance, world)
    boxes = np.array([[s[1].start, s[0].start, s[1].stop - s[1].start, s[0].stop - s[0].start]
                      for s in ndimage.find_objects(instance)], dtype=np.int64).reshape(-1, 4)
    return Frame(measured, clean.depth, clean.semantic, instance, clean.reflectivity, clean.theta,
                 boxes, classes, label)


def _posed_object(rng: np.random.Generator, intr: Intrinsics, class_id: int) -> tuple[Scene, Render]:
    """Sample an object scene and move the camera (or grow the solid) until it covers >= 15 %."""
    world = sample_object(rng, intr, class_id)
    for _ in range(_MAX_POSES):
        out = render(world, intr)
        coverage = float(np.count_nonzero(out.instance == 1)) / out.instance.size
        if coverage >= MIN_DOMINANT_FRACTION:
            return world, out
        dominant = world.solids[0]
        centre, radius = dominant.bounding_sphere()
        distance = float(np.linalg.norm(centre - world.camera.position))
        closest = intr.min_range_mm + radius + 50.0
        target = rng.uniform(0.2, 0.45)
        growth = float(np.sqrt(target / max(coverage, 0.02)))  # coverage ~ (size / distance)^2
        if distance <= closest * 1.01:
            # Cannot come closer within the sensor's range: grow the solid, by more than the ratio
            # because the nearest allowed distance grows with it.
            dominant = dataclasses.replace(dominant, size=dominant.size * min(growth**2, 3.0))
        distance /= growth
        world = sample_object(rng, intr, class_id, distance=distance, dominant=dominant)
    raise RuntimeError(f"object scene: could not pose a {CLASS_NAMES[class_id - 1]} to cover "
                       f"{MIN_DOMINANT_FRACTION:.0%} of a {intr.width}x{intr.height} frame in {_MAX_POSES} tries")


def _visible_instances(instance: np.ndarray, world: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Renumber solid indices to consecutive ids 1..M over the visible solids; their class ids (M,)."""
    visible = np.flatnonzero(np.bincount(instance.ravel(), minlength=len(world.solids) + 1)[1:]) + 1
    lut = np.zeros(256, np.uint8)
    lut[visible] = np.arange(1, visible.size + 1)
    classes = np.array([world.solids[v - 1].class_id for v in visible], dtype=np.int64)
    return lut[instance], classes
