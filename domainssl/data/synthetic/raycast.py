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
def _pixel_rays(width: int, height: int, fx: float, fy: float, cx: float, cy: float):
    """Camera-frame ray slopes x/z per column (W,) and y/z per row (H,), and 1 / |ray| (H, W)."""
    rx, ry = (np.arange(width) - cx) / fx, (np.arange(height) - cy) / fy
    inv_norm = 1.0 / np.sqrt(1.0 + rx[None, :] ** 2 + ry[:, None] ** 2)  # rotations keep |ray|
    return rx, ry, inv_norm.astype(np.float32)


def render(scene: Scene, intr: Intrinsics) -> Render:
    """Ray-cast ``scene`` through ``intr``: clean depth, labels, albedo and incidence angle.

    Examples:
        >>> from domainssl.data.synthetic.scene import sample_cluttered
        >>> intr = Intrinsics(64, 48, 50.0, 50.0, 31.5, 23.5, 300.0, 5000.0)
        >>> out = render(sample_cluttered(np.random.default_rng(0), intr), intr)
        >>> out.depth.shape, out.depth.dtype
        ((48, 64), dtype('float32'))
    """
    rx, ry, inv_norm = _pixel_rays(intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy)
    R = scene.camera.rotation  # world-from-camera, columns right / down / forward
    origin = scene.camera.position
    # Background: a world ray is right * x/z + down * y/z + forward, so n . ray is an outer sum.
    depth = np.full((intr.height, intr.width), np.inf, np.float32)
    cos = np.ones_like(depth)
    reflectivity = np.zeros_like(depth)
    for plane in scene.planes:
        n_right, n_down, n_forward = (plane.normal @ R).astype(np.float32)
        along = (n_right * rx.astype(np.float32))[None, :] + (n_down * ry.astype(np.float32) + n_forward)[:, None]
        gap = np.float32(plane.offset - plane.normal @ origin)  # < 0: the camera is on the room side
        with np.errstate(divide="ignore"):
            t = np.where(along < 0, gap / along, np.float32(np.inf))  # H x W
        nearer = t < depth
        depth = np.minimum(depth, t)
        cos = np.where(nearer, -along * inv_norm, cos)
        reflectivity = np.where(nearer, np.float32(plane.reflectivity), reflectivity)
    semantic = np.zeros(depth.shape, np.uint8)
    instance = np.zeros(depth.shape, np.uint8)
    for index, solid in enumerate(scene.solids):
        window = _screen_window(solid, scene, intr)
        if window is None:
            continue
        rows, cols = window
        right, down, forward = (R[:, k, None, None] for k in range(3))  # 3 x 1 x 1 each
        d = right * rx[None, None, cols] + down * ry[None, rows, None] + forward  # 3 x h x w world rays
        t, cos_solid = _intersect_solid(solid, origin, d)  # h x w each; d is 3 x h x w
        nearer = t < depth[window]
        depth[window][nearer] = t[nearer]
        cos[window][nearer] = np.abs(cos_solid[nearer]) * inv_norm[window][nearer]
        semantic[window][nearer] = solid.class_id
        instance[window][nearer] = index + 1
        reflectivity[window][nearer] = solid.reflectivity
    missed = ~np.isfinite(depth)
    depth[missed], cos[missed], reflectivity[missed] = 0.0, 1.0, 0.0
    theta = np.arccos(np.clip(cos, 0.0, 1.0))
    return Render(depth, semantic, instance, reflectivity, theta)


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
            return _box(np.array([a, b]), h, o, dl)
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


def _box(half: np.ndarray, h: float, o: np.ndarray, d: np.ndarray):
    """Slab test against the box |x| <= half[0], |y| <= half[1], 0 <= z <= h."""
    lo, hi = np.array([-half[0], -half[1], 0.0]), np.array([half[0], half[1], h])
    t_in = np.full(d.shape[1:], -np.inf)
    t_out = np.full(d.shape[1:], np.inf)
    cos = np.zeros(d.shape[1:])
    for k in range(3):
        t1, t2 = (lo[k] - o[k]) / d[k], (hi[k] - o[k]) / d[k]  # nan where parallel and on a face
        near, far = np.fmin(t1, t2), np.fmax(t1, t2)
        cos = np.where(near > t_in, d[k], cos)  # entering through a face of axis k: |n . d| = |d_k|
        t_in = np.fmax(t_in, near)
        t_out = np.fmin(t_out, far)
    hit = (t_in <= t_out) & (t_in > 0)
    return np.where(hit, t_in, np.inf), cos


def _convex_polyhedron(normals: np.ndarray, offsets: np.ndarray, o: np.ndarray, d: np.ndarray):
    """Rays against the intersection of half-spaces ``n_i . x <= offset_i`` (unit outward normals)."""
    t_in = np.full(d.shape[1:], -np.inf)
    t_out = np.full(d.shape[1:], np.inf)
    cos = np.zeros(d.shape[1:])
    for normal, offset in zip(normals, offsets):
        along = normal[0] * d[0] + normal[1] * d[1] + normal[2] * d[2]  # h x w
        gap = offset - normal @ o  # < 0: the origin is outside this face's half-space
        t = gap / along
        entering = (along < 0) & (t > t_in)
        cos = np.where(entering, along, cos)
        t_in = np.where(entering, t, t_in)
        t_out = np.where(along > 0, np.minimum(t_out, t), t_out)
        if gap < 0:  # rays parallel to a face they are outside of miss
            t_out = np.where(along == 0, -np.inf, t_out)
    hit = (t_in <= t_out) & (t_in > 0)
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
