"""The ToF measurement model: pure operations on depth maps, and the full sensor chain.

Every function takes a depth map ``depth_mm`` — float32 (or any real dtype), shape (H, W),
millimetres along the optical axis, ``0`` = invalid — and returns a new float32 array of the same
shape; inputs are never mutated. Randomness comes only from the explicit ``rng``
(:class:`numpy.random.Generator`). Invalid pixels stay exactly 0 through every operation: noise,
multipath and scaling touch valid pixels only.

Physics follows REFERENCE.md §2: Kinect-style axial noise (Nguyen, Izadi & Lovell 2012), AMCW shot
noise with amplitude ∝ ρ cos θ / d², flying (mixed) pixels at depth edges, a multipath bias proxy in
concave regions, low-signal invalidation, phase wrapping at ``c / (2 f_mod)``. :func:`simulate_sensor`
chains them into what a camera measures; the synthetic world renders with it and the ToF views
(:mod:`domainssl.augment.tof`) perturb with the same operations.

Examples:
    >>> rng = np.random.default_rng(0)
    >>> wall = np.full((48, 64), 2000.0, np.float32)
    >>> theta = surface_angle(wall, fx=50.0, fy=50.0, cx=31.5, cy=23.5)
    >>> noisy = add_axial_noise(wall, kinect_axial_sigma_mm(wall, theta), rng)
    >>> noisy.dtype, noisy.shape
    (dtype('float32'), (48, 64))
"""

from __future__ import annotations

import cv2
import numpy as np

from domainssl.physics.tof_sensors import SPEED_OF_LIGHT_MM_S, SensorProfile, scaled

_MAX_THETA = np.deg2rad(80.0)  # the Nguyen model diverges at grazing angles; clamp there


def _depth(depth_mm: np.ndarray) -> np.ndarray:
    """Float32 copy-safe view of a 2D depth map; rejects other shapes."""
    depth = np.asarray(depth_mm, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"expected a depth map of shape (H, W), got {depth.shape}")
    return depth


def _valid(depth: np.ndarray) -> np.ndarray:
    return np.isfinite(depth) & (depth > 0)


# ---------------------------------------------------------------------------------------- geometry of the scene


def surface_angle(depth_mm: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """Angle between the surface normal and the viewing ray at every pixel.

    Points are back-projected through the pinhole intrinsics, the normal is the cross product of
    the point gradients along the rows and columns, and ``θ = arccos(|n·p| / (|n| |p|))``. Holes are
    filled with their largest neighbour before differentiating so valid pixels beside a hole keep
    a usable normal; depth steps give grazing angles (θ → π/2), as they should.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        fx, fy, cx, cy: pinhole intrinsics of this resolution, pixels.

    Returns:
        (H, W) float32 radians in [0, π/2]; invalid pixels get π/2.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    clean = np.where(valid, depth, 0.0).astype(np.float32)
    filled = np.where(valid, clean, cv2.dilate(clean, np.ones((3, 3), np.uint8)))
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    points = np.stack([(u - cx) * filled / fx, (v - cy) * filled / fy, filled], axis=-1)  # H x W x 3
    d_v, d_u = np.gradient(points, axis=(0, 1))  # H x W x 3 each
    normal = np.cross(d_u, d_v)  # H x W x 3
    cos = np.abs((normal * points).sum(-1)) / (np.linalg.norm(normal, axis=-1) * np.linalg.norm(points, axis=-1) + 1e-12)
    theta = np.arccos(np.clip(cos, 0.0, 1.0)).astype(np.float32)
    theta[~valid | (filled <= 0)] = np.pi / 2
    return theta


# ---------------------------------------------------------------------------------------- noise models


def kinect_axial_sigma_mm(depth_mm: np.ndarray, theta: np.ndarray | float, max_theta: float = _MAX_THETA) -> np.ndarray:
    """Axial noise σ of Nguyen, Izadi & Lovell (2012) for a Kinect-style ToF camera.

    ``σz = 0.0012 + 0.0019 (z − 0.4)² + (0.0001 / √z) · θ² / (π/2 − θ)²`` with z in metres
    (1.9 mm at 1 m, 14 mm at 3 m, 26 mm at 4 m for θ = 0). θ is clamped to ``max_theta`` where
    the model diverges.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        theta: (H, W) or scalar surface angle, radians.

    Returns:
        (H, W) float32 σ in millimetres; 0 at invalid pixels.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    z = np.where(valid, depth, 1000.0) / 1000.0
    t = np.minimum(np.asarray(theta, np.float64), max_theta)
    sigma_m = 0.0012 + 0.0019 * (z - 0.4) ** 2 + (0.0001 / np.sqrt(z)) * t**2 / (np.pi / 2 - t) ** 2
    return np.where(valid, sigma_m * 1000.0, 0.0).astype(np.float32)


def amcw_sigma_mm(
    depth_mm: np.ndarray,
    theta: np.ndarray | float,
    sigma_ref_mm: float,
    reflectivity: np.ndarray | float = 1.0,
    ambient: bool = False,
    cap_mm: float = 25.0,
) -> np.ndarray:
    """AMCW shot-noise σ with modulated amplitude ``A ∝ ρ cos θ / d²``.

    Active-light dominated: ``σ = σ_ref · d / √(ρ cos θ)``; ambient dominated:
    ``σ = σ_ref · d² / (ρ cos θ)`` (d in metres, so σ = σ_ref at 1 m, frontal, ρ = 1).

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        theta: (H, W) or scalar surface angle, radians.
        sigma_ref_mm: σ at 1 m on a frontal surface with ρ = 1, millimetres.
        reflectivity: ρ in (0, 1], (H, W) or scalar.
        ambient: use the ambient-dominated law.
        cap_mm: upper bound of σ, millimetres.

    Returns:
        (H, W) float32 σ in millimetres; 0 at invalid pixels.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    d = np.where(valid, depth, 0.0) / 1000.0
    signal = np.clip(np.asarray(reflectivity, np.float64) * np.cos(np.asarray(theta, np.float64)), 0.02, None)
    sigma = sigma_ref_mm * (d**2 / signal if ambient else d / np.sqrt(signal))
    return np.where(valid, np.minimum(sigma, cap_mm), 0.0).astype(np.float32)


def add_axial_noise(depth_mm: np.ndarray, sigma_mm: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Add zero-mean Gaussian noise of std ``sigma_mm`` along the ray to valid pixels.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        sigma_mm: (H, W) or scalar σ, millimetres.
        rng: the random source.

    Returns:
        (H, W) float32 millimetres; invalid stays 0, and a draw that ends at ≤ 0 becomes invalid.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    noisy = depth + np.asarray(sigma_mm, np.float32) * rng.standard_normal(depth.shape, dtype=np.float32)
    return np.where(valid & (noisy > 0), noisy, 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------- edge and scene effects


def _edge_partner(depth: np.ndarray, valid: np.ndarray, min_jump_mm: float, rel_jump: float) -> np.ndarray:
    """For each pixel, the depth of the 4-neighbour across the largest jump over the threshold (0 if none)."""
    h, w = depth.shape
    padded = np.pad(np.where(valid, depth, 0.0), 1)
    best_jump = np.zeros_like(depth)
    partner = np.zeros_like(depth)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        neighbour = padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        jump = np.abs(neighbour - depth)
        threshold = np.maximum(min_jump_mm, rel_jump * np.maximum(depth, neighbour))
        edge = valid & (neighbour > 0) & (jump > threshold) & (jump > best_jump)
        best_jump = np.where(edge, jump, best_jump)
        partner = np.where(edge, neighbour, partner)
    return partner


def add_flying_pixels(
    depth_mm: np.ndarray,
    rng: np.random.Generator,
    p_mix: float = 0.5,
    p_drop: float = 0.3,
    min_jump_mm: float = 30.0,
    rel_jump: float = 0.03,
) -> np.ndarray:
    """Mixed ("flying") pixels at depth edges.

    A pixel is on an edge when a valid 4-neighbour differs by more than
    ``max(min_jump_mm, rel_jump · z)``. With probability ``p_mix`` it becomes
    ``α z_fg + (1 − α) z_bg`` (α ~ U(0, 1), fg/bg = nearer/farther of the pixel and that neighbour);
    otherwise, with probability ``p_drop``, it is invalidated. Pixels off edges are untouched.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.

    Returns:
        (H, W) float32 millimetres.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    partner = _edge_partner(depth, valid, min_jump_mm, rel_jump)
    edge = partner > 0
    u = rng.random(depth.shape)
    alpha = rng.random(depth.shape).astype(np.float32)
    fg, bg = np.minimum(depth, partner), np.maximum(depth, partner)
    mixed = alpha * fg + (1 - alpha) * bg
    mix = edge & (u < p_mix)
    drop = edge & ~mix & (rng.random(depth.shape) < p_drop)
    out = np.where(mix, mixed, np.where(valid, depth, 0.0))
    out[drop] = 0.0
    return out.astype(np.float32)


def _odd(k: float) -> int:
    k = max(1, int(round(k)))
    return k if k % 2 else k + 1


def _masked_blur(depth: np.ndarray, valid: np.ndarray, kernel_px: int) -> np.ndarray:
    """Gaussian mean of the valid depths around each pixel (normalised convolution)."""
    k = _odd(kernel_px)
    weight = cv2.GaussianBlur(valid.astype(np.float32), (k, k), 0, borderType=cv2.BORDER_REFLECT)
    total = cv2.GaussianBlur(np.where(valid, depth, 0.0).astype(np.float32), (k, k), 0, borderType=cv2.BORDER_REFLECT)
    return np.where(weight > 1e-6, total / np.maximum(weight, 1e-6), 0.0)


def add_multipath(depth_mm: np.ndarray, beta: float, kernel_px: int) -> np.ndarray:
    """Multipath bias proxy: ``z' = z + β · max(0, G_σ * z − z)`` on valid pixels.

    Concave regions (corners, the floor-wall seam, the inside of a box) sit nearer than their
    Gaussian neighbourhood and are pushed farther, as light bouncing off the neighbours arrives late.
    The blur is mask-aware (normalised convolution), so holes do not pull the average to 0.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        beta: bias strength, typically U(0, 0.5).
        kernel_px: Gaussian kernel side in pixels (made odd), typically 15–31.

    Returns:
        (H, W) float32 millimetres; invalid stays 0.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    blurred = _masked_blur(depth, valid, kernel_px)
    out = depth + beta * np.maximum(0.0, blurred - depth)
    return np.where(valid, out, 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------- invalidation


def invalidate_low_signal(
    depth_mm: np.ndarray,
    theta: np.ndarray | float,
    max_range_mm: float,
    rng: np.random.Generator,
    strength: float = 1.0,
    reflectivity: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Drop pixels whose return signal is weak: grazing angles, dark surfaces, far range.

    The return amplitude relative to a frontal white target at the range end is
    ``s = ρ cos θ / r²`` with ``r = z / max_range``; a valid pixel is dropped with probability
    ``strength · clip(1 − s, 0, 1)²`` — rising with ``1 − cos θ``, with darkness and with range.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        theta: (H, W) or scalar surface angle, radians.
        max_range_mm: the sensor's working range end, millimetres.
        strength: scale of the probability (0 = no-op).
        reflectivity: ρ in (0, 1], (H, W) or scalar.

    Returns:
        (H, W) float32 millimetres.
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    r = np.maximum(np.where(valid, depth, 0.0) / max_range_mm, 1e-3)
    signal = np.asarray(reflectivity, np.float64) * np.cos(np.asarray(theta, np.float64)) / r**2
    p = strength * np.clip(1.0 - signal, 0.0, 1.0) ** 2
    drop = rng.random(depth.shape) < p
    return np.where(valid & ~drop, depth, 0.0).astype(np.float32)


def add_speckle(depth_mm: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Invalidate a random ``fraction`` (0–1) of pixels independently (salt-like dropouts)."""
    depth = _depth(depth_mm)
    drop = rng.random(depth.shape) < fraction
    return np.where(_valid(depth) & ~drop, depth, 0.0).astype(np.float32)


def _discs(shape: tuple[int, int], centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for (y, x), r in zip(centres, radii):
        cv2.circle(mask, (int(x), int(y)), max(1, int(round(r))), 1, thickness=-1)
    return mask.astype(bool)


def add_holes(depth_mm: np.ndarray, rng: np.random.Generator, n: int = 3, radius_px: float = 4.0) -> np.ndarray:
    """Invalidate ``n`` discs at uniform random centres, radius ``U(0.5, 1) · radius_px`` pixels."""
    depth = _depth(depth_mm)
    h, w = depth.shape
    centres = np.stack([rng.integers(0, h, n), rng.integers(0, w, n)], axis=1)
    holes = _discs(depth.shape, centres, radius_px * rng.uniform(0.5, 1.0, n))
    return np.where(_valid(depth) & ~holes, depth, 0.0).astype(np.float32)


def add_saturation(
    depth_mm: np.ndarray,
    rng: np.random.Generator,
    near_mm: float = 800.0,
    n: int = 1,
    radius_px: float = 5.0,
) -> np.ndarray:
    """Saturation blobs on near surfaces: discs centred on pixels nearer than ``near_mm`` → 0.

    Only pixels of the disc that are themselves nearer than ``1.25 · near_mm`` are dropped (the blob
    sits on the bright near surface). No near pixels → unchanged.

    Args:
        depth_mm: (H, W) depth, millimetres, 0 = invalid.
        near_mm: depth under which the active illumination can saturate, millimetres.
        n: number of blobs; radius_px: blob radius, pixels (scaled by U(0.5, 1)).
    """
    depth = _depth(depth_mm)
    valid = _valid(depth)
    ys, xs = np.nonzero(valid & (depth < near_mm))
    if ys.size == 0:
        return np.where(valid, depth, 0.0).astype(np.float32)
    pick = rng.integers(0, ys.size, n)
    blobs = _discs(depth.shape, np.stack([ys[pick], xs[pick]], 1), radius_px * rng.uniform(0.5, 1.0, n))
    drop = blobs & (depth < 1.25 * near_mm)
    return np.where(valid & ~drop, depth, 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------- range and values


def unambiguous_range_mm(f_mod_hz: float) -> float:
    """``c / (2 f_mod)`` in millimetres (20 MHz → 7,495 mm, 80 MHz → 1,874 mm)."""
    return SPEED_OF_LIGHT_MM_S / (2.0 * f_mod_hz)


def phase_wrap(depth_mm: np.ndarray, f_mod_hz: float) -> np.ndarray:
    """Phase wrapping: valid depths become ``z mod (c / (2 f_mod))`` (far surfaces alias to near)."""
    depth = _depth(depth_mm)
    wrapped = np.mod(depth, np.float32(unambiguous_range_mm(f_mod_hz)))
    return np.where(_valid(depth), wrapped, 0.0).astype(np.float32)


def scale_depth(depth_mm: np.ndarray, factor: float, min_range_mm: float, max_range_mm: float) -> np.ndarray:
    """Depth-scale jitter (a different stand-off): ``z · factor``, then out-of-range pixels → 0."""
    depth = _depth(depth_mm)
    out = depth * np.float32(factor)
    keep = _valid(depth) & (out >= min_range_mm) & (out <= max_range_mm)
    return np.where(keep, out, 0.0).astype(np.float32)


def clip_range(depth_mm: np.ndarray, min_range_mm: float, max_range_mm: float) -> np.ndarray:
    """Invalidate (→ 0) depths outside ``[min_range_mm, max_range_mm]`` and non-finite values."""
    return scale_depth(depth_mm, 1.0, min_range_mm, max_range_mm)


def quantise_mm(depth_mm: np.ndarray) -> np.ndarray:
    """Round to whole millimetres (the uint16 storage grid); invalid stays 0."""
    depth = _depth(depth_mm)
    return np.where(_valid(depth), np.round(depth), 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------- the full sensor chain


def simulate_sensor(
    depth_mm: np.ndarray,
    sensor: SensorProfile,
    rng: np.random.Generator,
    *,
    reflectivity: np.ndarray | float | None = None,
    theta: np.ndarray | None = None,
) -> np.ndarray:
    """Turn a clean ray-cast depth map into a measured frame of ``sensor``.

    The chain: multipath bias (β = ``sensor.multipath_beta`` · U(0.5, 1.5), kernel 5 % of the
    width) → axial noise (the sensor's model, with surface angle) → flying pixels at edges →
    low-signal invalidation (angle, reflectivity, range) → speckle → range clipping →
    quantisation to 1 mm. Intrinsics are the sensor's, scaled to the frame's resolution.

    Args:
        depth_mm: (H, W) clean depth, millimetres, 0 = no surface.
        sensor: the camera profile.
        rng: the random source.
        reflectivity: ρ in (0, 1] per pixel or scalar (None = 1).
        theta: precomputed surface angle (None = computed from the clean depth).

    Returns:
        (H, W) uint16 millimetres, 0 = invalid.
    """
    depth = _depth(depth_mm)
    h, w = depth.shape
    cam = scaled(sensor, w, h)
    rho = 1.0 if reflectivity is None else reflectivity
    if theta is None:
        theta = surface_angle(depth, cam.fx, cam.fy, cam.cx, cam.cy)
    out = add_multipath(depth, cam.multipath_beta * rng.uniform(0.5, 1.5), kernel_px=_odd(0.05 * w))
    if cam.noise_model == "kinect":
        sigma = np.minimum(kinect_axial_sigma_mm(out, theta), cam.sigma_cap_mm)
    else:
        sigma = amcw_sigma_mm(out, theta, cam.sigma_ref_mm, rho, cam.ambient, cam.sigma_cap_mm)
    out = add_axial_noise(out, sigma, rng)
    out = add_flying_pixels(out, rng, p_mix=cam.flying_p_mix, p_drop=cam.flying_p_drop)
    out = invalidate_low_signal(out, theta, cam.max_range_mm, rng, cam.low_signal_strength, rho)
    out = add_speckle(out, cam.speckle_fraction, rng)
    out = quantise_mm(clip_range(out, cam.min_range_mm, cam.max_range_mm))
    return out.astype(np.uint16)
