"""Procedural indoor scenes for the synthetic ToF world: a room (floor + 1–3 walls), a camera, solids.

World frame: millimetres, z up, the floor is the plane z = 0. A camera is a position plus a
world-from-camera rotation whose columns are the OpenCV camera axes (x right, y down, z forward).
Solids stand on the floor; their local frame has its origin at the centre of the footprint, z up,
and they are turned by ``yaw`` about the vertical axis.

Two scene families:

* ``cluttered``: the camera (0.7–1.8 m high, pitched 15–45° down) looks at a room corner or along
  a wall; 3–8 solids of random classes stand in view (for segmentation and detection).
* ``object``: one dominant solid of a given class, looked at from 0.5–2.5 m, plus 0–2 small
  distractors; :func:`domainssl.data.synthetic.tof_world.render_frame` re-poses the camera until
  the dominant solid covers at least 15 % of the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Solid classes; semantic id of ``CLASS_NAMES[i]`` is ``i + 1`` (0 is floor/wall background).
CLASS_NAMES: tuple[str, ...] = ("box", "sphere", "cylinder", "cone", "pyramid")

#: Size ranges (mm) per class: (footprint side or diameter range, height range); None = same as footprint.
_SIZE_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float] | None]] = {
    "box": ((200.0, 600.0), (150.0, 700.0)),
    "sphere": ((200.0, 600.0), None),
    "cylinder": ((160.0, 500.0), (200.0, 800.0)),
    "cone": ((240.0, 600.0), (250.0, 800.0)),
    "pyramid": ((250.0, 600.0), (200.0, 650.0)),
}


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels for a ``width`` x ``height`` image (pixel centres at integers)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    min_range_mm: float
    max_range_mm: float


@dataclass(frozen=True)
class Camera:
    """Camera pose: ``position`` (3,) mm; ``rotation`` (3, 3) world-from-camera, columns right/down/forward."""

    position: np.ndarray
    rotation: np.ndarray


@dataclass(frozen=True)
class Plane:
    """Infinite plane ``normal . x = offset`` (unit normal pointing into the room), e.g. floor or wall."""

    normal: np.ndarray
    offset: float
    reflectivity: float


@dataclass(frozen=True)
class Solid:
    """A solid standing on the floor.

    Attributes:
        class_id: semantic id, 1..len(CLASS_NAMES).
        base: (3,) world position of the footprint centre, mm (z = 0).
        yaw: rotation about the vertical axis, radians.
        size: (3,) full extents in the local frame, mm: footprint x, footprint y, height
            (sphere: 2r, 2r, 2r; cylinder and cone: 2r, 2r, h; pyramid: side, side, h).
        reflectivity: albedo in (0, 1].
    """

    class_id: int
    base: np.ndarray
    yaw: float
    size: np.ndarray
    reflectivity: float

    @property
    def name(self) -> str:
        return CLASS_NAMES[self.class_id - 1]

    @property
    def footprint_radius(self) -> float:
        """Radius of the circle on the floor that contains the footprint, mm."""
        return 0.5 * float(np.hypot(self.size[0], self.size[1]))

    def bounding_sphere(self) -> tuple[np.ndarray, float]:
        """World centre (3,) and radius (mm) of a sphere that contains the solid."""
        centre = self.base + np.array([0.0, 0.0, 0.5 * self.size[2]])
        return centre, 0.5 * float(np.linalg.norm(self.size))


@dataclass(frozen=True)
class Scene:
    """Everything the ray caster needs: a camera, background planes and solids."""

    camera: Camera
    planes: tuple[Plane, ...]
    solids: tuple[Solid, ...]


def look_rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """World-from-camera rotation (3, 3) for a camera turned by ``yaw``, pitched ``pitch`` down, rolled.

    Angles in radians; yaw = 0 looks along +x, pitch > 0 looks down. Columns: right, down, forward.
    """
    forward = np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), -np.sin(pitch)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward], axis=1)


def random_solid(class_id: int, base_xy: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> Solid:
    """A solid of ``class_id`` with random size (times ``scale``), yaw and reflectivity at ``base_xy`` (mm)."""
    footprint, height = _SIZE_RANGES[CLASS_NAMES[class_id - 1]]
    side = rng.uniform(*footprint) * scale
    if CLASS_NAMES[class_id - 1] == "box":
        size = np.array([side, rng.uniform(*footprint) * scale, rng.uniform(*height) * scale])
    else:
        size = np.array([side, side, side if height is None else rng.uniform(*height) * scale])
    return Solid(
        class_id=class_id,
        base=np.array([base_xy[0], base_xy[1], 0.0]),
        yaw=float(rng.uniform(0.0, 2.0 * np.pi)),
        size=size,
        reflectivity=float(rng.uniform(0.15, 0.95)),
    )


def room_planes(yaw: float, rng: np.random.Generator, front: float, side: float) -> tuple[Plane, ...]:
    """Floor plus 1–3 walls around a camera at the origin that looks along ``yaw``.

    The camera looks at a room corner (front wall + one side wall, sometimes the other side
    too) or along a side wall (sometimes with a far front wall). ``front`` and ``side`` are the
    typical wall distances (mm) along and across the view direction.
    """
    floor = Plane(np.array([0.0, 0.0, 1.0]), 0.0, float(rng.uniform(0.2, 0.9)))
    room_yaw = yaw + rng.uniform(-0.35, 0.35)  # the room is not square to the camera
    axis_front = np.array([np.cos(room_yaw), np.sin(room_yaw), 0.0])
    axis_left = np.array([-np.sin(room_yaw), np.cos(room_yaw), 0.0])
    left_first = rng.random() < 0.5
    near_side, far_side = (axis_left, -axis_left) if left_first else (-axis_left, axis_left)
    walls = []  # (outward axis, distance)
    if rng.random() < 0.6:  # corner
        walls += [(axis_front, front * rng.uniform(0.8, 1.4)), (near_side, side * rng.uniform(0.8, 1.6))]
        if rng.random() < 0.4:
            walls.append((far_side, side * rng.uniform(0.8, 1.6)))
    else:  # along a wall
        walls.append((near_side, side * rng.uniform(0.4, 1.0)))
        if rng.random() < 0.5:
            walls.append((axis_front, front * rng.uniform(1.2, 2.0)))
    planes = [floor]
    for axis, distance in walls:  # wall: -axis . x = -distance, normal -axis points into the room
        planes.append(Plane(-axis, -float(distance), float(rng.uniform(0.2, 0.9))))
    return tuple(planes)


def inside_room(point_xy: np.ndarray, radius: float, planes: tuple[Plane, ...], margin: float = 50.0) -> bool:
    """True if a footprint circle (centre mm, radius mm) is on the room side of every wall."""
    p = np.array([point_xy[0], point_xy[1], 0.0])
    return all(float(pl.normal @ p) - pl.offset >= radius + margin for pl in planes[1:])


def floor_point(camera: Camera, intr: Intrinsics, u: float, v: float) -> np.ndarray | None:
    """Where the ray through pixel (u, v) meets the floor, (2,) mm; None if it does not go down."""
    d = camera.rotation @ np.array([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, 1.0])
    if d[2] >= -1e-6:
        return None
    t = -camera.position[2] / d[2]
    return (camera.position + t * d)[:2]


def place_on_floor(
    solid_fn: Callable[[np.ndarray], Solid],
    camera: Camera,
    intr: Intrinsics,
    planes: tuple[Plane, ...],
    taken: list[Solid],
    rng: np.random.Generator,
    v_range: tuple[float, float],
    max_distance: float,
    tries: int = 30,
) -> Solid | None:
    """Place ``solid_fn(base_xy)`` on the floor in view, inside the room, not overlapping ``taken``.

    Samples a pixel (rows within ``v_range`` as fractions of the height), casts it to the floor
    and accepts the spot if it is within ``max_distance`` (mm, horizontally) of the camera.
    Returns None after ``tries`` rejected spots.
    """
    for _ in range(tries):
        u = rng.uniform(0.05, 0.95) * (intr.width - 1)
        v = rng.uniform(*v_range) * (intr.height - 1)
        xy = floor_point(camera, intr, u, v)
        if xy is None:
            continue
        solid = solid_fn(xy)
        r = solid.footprint_radius
        distance = float(np.hypot(*(xy - camera.position[:2])))
        if distance > max_distance or distance < r + 300.0 or not inside_room(xy, r, planes):
            continue
        if all(np.hypot(*(xy - s.base[:2])) > r + s.footprint_radius + 20.0 for s in taken):
            return solid
    return None


def sample_cluttered(rng: np.random.Generator, intr: Intrinsics) -> Scene:
    """A room corner or wall with 3–8 solids of random classes standing in view."""
    yaw = float(rng.uniform(0.0, 2.0 * np.pi))
    camera = Camera(
        position=np.array([0.0, 0.0, rng.uniform(700.0, 1800.0)]),
        rotation=look_rotation(yaw, np.deg2rad(rng.uniform(15.0, 45.0)), np.deg2rad(rng.uniform(-5.0, 5.0))),
    )
    reach = min(intr.max_range_mm, 5000.0)
    planes = room_planes(yaw, rng, front=0.8 * reach, side=0.45 * reach)
    solids: list[Solid] = []
    for _ in range(int(rng.integers(3, 9))):
        class_id = int(rng.integers(1, len(CLASS_NAMES) + 1))
        solid = place_on_floor(
            lambda xy, c=class_id: random_solid(c, xy, rng),
            camera, intr, planes, solids, rng, v_range=(0.3, 0.98), max_distance=0.85 * reach,
        )
        if solid is not None:
            solids.append(solid)
    return Scene(camera, planes, tuple(solids))


def sample_object(rng: np.random.Generator, intr: Intrinsics, class_id: int, distance: float | None = None,
                  dominant: Solid | None = None) -> Scene:
    """One dominant solid of ``class_id`` looked at from ``distance`` mm, plus 0–2 small distractors.

    ``distance`` (camera to the solid's centre) defaults to a value that makes the solid cover
    about 20–45 % of the frame; pass ``dominant`` to keep the same solid while re-posing.
    """
    if dominant is None:
        dominant = random_solid(class_id, np.zeros(2), rng, scale=rng.uniform(0.8, 1.3))
    centre, radius = dominant.bounding_sphere()
    if distance is None:
        coverage = rng.uniform(0.2, 0.45)
        width, height = max(dominant.size[0], dominant.size[1]), dominant.size[2]
        distance = float(np.sqrt(intr.fx * intr.fy * width * height * 0.6 / (coverage * intr.width * intr.height)))
    distance = max(distance, intr.min_range_mm + radius + 50.0)
    yaw = float(rng.uniform(0.0, 2.0 * np.pi))
    pitch = np.deg2rad(rng.uniform(10.0, 45.0))
    rotation = look_rotation(yaw, pitch, np.deg2rad(rng.uniform(-5.0, 5.0)))
    aim = centre + rotation[:, 0] * rng.uniform(-0.1, 0.1) * radius + rotation[:, 1] * rng.uniform(-0.1, 0.1) * radius
    camera = Camera(position=aim - distance * rotation[:, 2], rotation=rotation)
    # Walls behind the solid: the room is placed in a frame centred on the camera.
    horizontal = float(np.hypot(*(centre - camera.position)[:2]))
    planes = room_planes(yaw, rng, front=horizontal + radius + rng.uniform(300.0, 2000.0),
                         side=max(horizontal * 0.8, radius + 600.0))
    planes = tuple(Plane(p.normal, p.offset + float(p.normal @ camera.position) * (i > 0), p.reflectivity)
                   for i, p in enumerate(planes))
    if not inside_room(centre[:2], dominant.footprint_radius, planes):
        planes = planes[:1]  # a wall would cut the solid: keep the floor only for this re-pose
    solids = [dominant]
    for _ in range(int(rng.integers(0, 3))):
        extra = place_on_floor(
            lambda xy: random_solid(int(rng.integers(1, len(CLASS_NAMES) + 1)), xy, rng, scale=0.4),
            camera, intr, planes, solids, rng, v_range=(0.5, 0.98), max_distance=intr.max_range_mm,
        )
        if extra is not None:
            solids.append(extra)
    return Scene(camera, planes, tuple(solids))
