"""Analytic, vectorised ray casting of a :class:`~domainssl.data.synthetic.scene.Scene`.

Rays go through pixel centres (u, v) with camera-frame direction ((u - cx)/fx, (v - cy)/fy, 1),
so the ray parameter t of a hit *is* its Z-depth in millimetres. Each solid is intersected only
inside the image rectangle its bounding sphere projects to, in its own local frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from domainssl.data.synthetic.scene import CLASS_NAMES, Intrinsics, Scene, Solid


@dataclass
class Render:
    """Clean per-pixel outputs of one ray-cast frame, all (H, W).

    Attributes:
        depth: float32 Z-depth, mm; 0 where the ray hits nothing.
        semantic: uint8 class id of the surface (0 floor/wall/nothing, 1..K solids).
        instance: uint8 index of the solid in ``scene.solids`` plus one (0 background).
        reflectivity: float32 albedo of the surface in [0, 1] (0 where nothing is hit).
        theta: float32 angle between the surface normal and the ray, radians in [0, pi/2].
    """

    depth: np.ndarray
    semantic: np.ndarray
    instance: np.ndarray
    reflectivity: np.ndarray
    theta: np.ndarray


@lru_cache(maxsize=8)
def _pixel_rays(width: int, height: int, fx: float, fy: float, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame ray slopes: x/z per column (W,), y/z per row (H,)."""
    return (np.arange(width) - cx) / fx, (np.arange(height) - cy) / fy


class _Buffer:
    """Z-buffer and attribute planes that surfaces are composited into, nearest hit wins."""

    def __init__(self, height: int, width: int) -> None:
        self.depth = np.full((height, width), np.inf)
        self.semantic = np.zeros((height, width), np.uint8)
        self.instance = np.zeros((height, width), np.uint8)
        self.reflectivity = np.zeros((height, width), np.float32)
        self.cos = np.ones((height, width))

    def composite(self, window: tuple[slice, slice], t: np.ndarray, cos: np.ndarray, semantic: int,
                  instance: int, reflectivity: float) -> None:
        """Write a surface's hits ``t`` (inf = miss) and ``cos`` of incidence into ``window``."""
        nearer = t < self.depth[window]
        self.depth[window][nearer] = t[nearer]
        self.cos[window][nearer] = cos[nearer]
        self.semantic[window][nearer] = semantic
        self.instance[window][nearer] = instance
        self.reflectivity[window][nearer] = reflectivity


def render(scene: Scene, intr: Intrinsics) -> Render:
    """Ray-cast ``scene`` through ``intr``: clean depth, labels, albedo and incidence angle.

    Examples:
        >>> from domainssl.data.synthetic.scene import sample_cluttered
        >>> intr = Intrinsics(64, 48, 50.0, 50.0, 31.5, 23.5, 300.0, 5000.0)
        >>> out = render(sample_cluttered(np.random.default_rng(0), intr), intr)
        >>> out.depth.shape, out.depth.dtype
        ((48, 64), dtype('float32'))
    """
    rx, ry = _pixel_rays(intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy)
    R = scene.camera.rotation  # world-from-camera, columns right / down / forward
    origin = scene.camera.position
    # World ray directions, (3, H, W): right * x/z + down * y/z + forward.
    dirs = R[:, 0, None, None] * rx[None, None, :] + R[:, 1, None, None] * ry[None, :, None] + R[:, 2, None, None]
    inv_norm = 1.0 / np.sqrt(np.einsum("khw,khw->hw", dirs, dirs))  # H x W
    buf = _Buffer(intr.height, intr.width)
    full = (slice(None), slice(None))
    for plane in scene.planes:
        along = np.tensordot(plane.normal, dirs, axes=1)  # H x W, n . d
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (plane.offset - plane.normal @ origin) / along
        t = np.where((along < 0) & (t > 0), t, np.inf)  # the plane faces the camera and lies ahead
        buf.composite(full, t, -along * inv_norm, 0, 0, plane.reflectivity)
    for index, solid in enumerate(scene.solids):
        window = _screen_window(solid, scene, intr)
        if window is None:
            continue
        d = dirs[:, window[0], window[1]]
        t, cos = _intersect_solid(solid, origin, d)
        buf.composite(window, t, np.abs(cos) * inv_norm[window], solid.class_id, index + 1, solid.reflectivity)
    hit = np.isfinite(buf.depth)
    depth = np.where(hit, buf.depth, 0.0).astype(np.float32)
    theta = np.arccos(np.clip(buf.cos, 0.0, 1.0)).astype(np.float32)
    return Render(depth, buf.semantic, buf.instance, buf.reflectivity, theta)


def _screen_window(solid: Solid, scene: Scene, intr: Intrinsics) -> tuple[slice, slice] | None:
    """Row and column slices that contain the solid's projection; None if it is behind the camera."""
    centre, radius = solid.bounding_sphere()
    x, y, z = scene.camera.rotation.T @ (centre - scene.camera.position)  # camera frame, mm
    if z + radius <= 0:
        return None
    if z - radius <= 1.0:
        return slice(None), slice(None)
    # x/z over the box [x±r] x [z±r] (z > 0) takes its extremes at the corners.
    xs = np.array([x - radius, x + radius])[:, None] / np.array([z - radius, z + radius])[None, :]
    ys = np.array([y - radius, y + radius])[:, None] / np.array([z - radius, z + radius])[None, :]
    u0 = max(int(np.floor(intr.cx + intr.fx * xs.min())), 0)
    u1 = min(int(np.ceil(intr.cx + intr.fx * xs.max())) + 1, intr.width)
    v0 = max(int(np.floor(intr.cy + intr.fy * ys.min())), 0)
    v1 = min(int(np.ceil(intr.cy + intr.fy * ys.max())) + 1, intr.height)
    if u0 >= u1 or v0 >= v1:
        return None
    return slice(v0, v1), slice(u0, u1)


def _intersect_solid(solid: Solid, origin: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First hit of rays ``origin + t d`` with a solid: t (inf = miss) and n . d (unit normal n).

    ``d`` has shape (3, h, w); both outputs have shape (h, w).
    """
    c, s = np.cos(solid.yaw), np.sin(solid.yaw)
    rel = origin - solid.base
    o = np.array([c * rel[0] + s * rel[1], -s * rel[0] + c * rel[1], rel[2]])  # local frame
    dl = np.stack([c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]])  # 3 x h x w
    a, b, h = solid.size[0] / 2.0, solid.size[1] / 2.0, solid.size[2]  # half footprint x, y; height
    name = CLASS_NAMES[solid.class_id - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "box":
            normals = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
            offsets = np.array([a, a, b, b, h, 0.0])
            return _convex_polyhedron(normals, offsets, o, dl)
        if name == "pyramid":
            normals = np.array([[h, 0, a], [-h, 0, a], [0, h, b], [0, -h, b], [0, 0, -1]], float)
            offsets = np.array([h * a, h * a, h * b, h * b, 0.0])
            norms = np.linalg.norm(normals, axis=1)
            return _convex_polyhedron(normals / norms[:, None], offsets / norms, o, dl)
        if name == "sphere":
            return _sphere(np.array([0.0, 0.0, a]), a, o, dl)
        if name == "cylinder":
            return _cylinder(a, h, o, dl)
        if name == "cone":
            return _cone(a, h, o, dl)
    raise ValueError(f"no ray intersection for solid class {name!r}")


def _convex_polyhedron(normals: np.ndarray, offsets: np.ndarray, o: np.ndarray, d: np.ndarray):
    """Rays against the intersection of half-spaces ``n_i . x <= offset_i`` (unit outward normals)."""
    along = np.tensordot(normals, d, axes=1)  # P x h x w
    gap = (offsets - normals @ o)[:, None, None]  # P x 1 x 1, > 0 when the origin is inside plane i
    t = gap / along
    entering = along < 0
    t_near = np.where(entering, t, -np.inf)
    face = np.argmax(t_near, axis=0)  # h x w, the plane the ray enters through
    t_in = np.take_along_axis(t_near, face[None], axis=0)[0]
    t_out = np.where(along > 0, t, np.inf).min(axis=0)
    parallel_outside = ((along == 0) & (gap < 0)).any(axis=0)
    hit = (t_in <= t_out) & (t_in > 0) & ~parallel_outside
    cos = np.take_along_axis(along, face[None], axis=0)[0]
    return np.where(hit, t_in, np.inf), cos


def _sphere(centre: np.ndarray, r: float, o: np.ndarray, d: np.ndarray):
    oc = o - centre
    a = np.einsum("khw,khw->hw", d, d)
    b = np.tensordot(oc, d, axes=1)
    disc = b * b - a * (oc @ oc - r * r)
    t = (-b - np.sqrt(disc)) / a
    hit = (disc >= 0) & (t > 0)
    t = np.where(hit, t, np.inf)
    p = oc[:, None, None] + t * d  # 3 x h x w, point relative to the centre
    cos = np.einsum("khw,khw->hw", np.nan_to_num(p, posinf=0.0), d) / r
    return t, cos


def _cylinder(r: float, h: float, o: np.ndarray, d: np.ndarray):
    """Vertical cylinder, axis through the local origin, 0 <= z <= h; side and top cap."""
    a = d[0] ** 2 + d[1] ** 2
    b = o[0] * d[0] + o[1] * d[1]
    disc = b * b - a * (o[0] ** 2 + o[1] ** 2 - r * r)
    t_side = (-b - np.sqrt(disc)) / a
    z = o[2] + t_side * d[2]
    side = (disc >= 0) & (t_side > 0) & (z >= 0) & (z <= h)
    t_cap = (h - o[2]) / d[2]
    cap = (t_cap > 0) & ((o[0] + t_cap * d[0]) ** 2 + (o[1] + t_cap * d[1]) ** 2 <= r * r)
    t_side = np.where(side, t_side, np.inf)
    t_cap = np.where(cap, t_cap, np.inf)
    use_cap = t_cap < t_side
    cos_side = ((o[0] + t_side * d[0]) * d[0] + (o[1] + t_side * d[1]) * d[1]) / r
    cos = np.where(use_cap, d[2], np.nan_to_num(cos_side))
    return np.minimum(t_side, t_cap), cos


def _cone(r: float, h: float, o: np.ndarray, d: np.ndarray):
    """Upright cone, base radius r on z = 0, apex at z = h (the base sits on the floor, unseen)."""
    k2 = (r / h) ** 2
    w0 = h - o[2]
    a = d[0] ** 2 + d[1] ** 2 - k2 * d[2] ** 2
    b = o[0] * d[0] + o[1] * d[1] + k2 * w0 * d[2]
    c = o[0] ** 2 + o[1] ** 2 - k2 * w0 * w0
    root = np.sqrt(b * b - a * c)
    best = np.full(a.shape, np.inf)
    for t in ((-b - root) / a, (-b + root) / a):
        z = o[2] + t * d[2]
        best = np.where((t > 0) & (z >= 0) & (z <= h) & (t < best), t, best)
    p = o[:, None, None] + np.nan_to_num(best, posinf=0.0) * d  # 3 x h x w
    rho = np.sqrt(p[0] ** 2 + p[1] ** 2)
    grad = np.stack([p[0], p[1], np.sqrt(k2) * rho])  # outward normal direction
    cos = np.einsum("khw,khw->hw", grad, d) / np.maximum(np.sqrt(np.einsum("khw,khw->hw", grad, grad)), 1e-9)
    return best, cos
