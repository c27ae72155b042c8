"""Properties of the pure ToF ops: noise models, edges, invalidation, wrapping, geometry, sensor chain."""

from __future__ import annotations

import numpy as np
import pytest

from domainssl.augment.tof import functional as F
from domainssl.physics.tof_sensors import get_sensor, scaled

FX = FY = 100.0


def _intrinsics(h: int, w: int) -> tuple[float, float, float, float]:
    return FX, FY, (w - 1) / 2, (h - 1) / 2


def _step_scene(h: int = 40, w: int = 60, fg: float = 1000.0, bg: float = 3000.0) -> np.ndarray:
    depth = np.full((h, w), bg, np.float32)
    depth[:, : w // 2] = fg
    return depth


def _holey_scene(rng: np.random.Generator, h: int = 48, w: int = 64) -> np.ndarray:
    depth = rng.uniform(1000.0, 4000.0, (h, w)).astype(np.float32)
    depth[rng.random((h, w)) < 0.2] = 0.0
    depth[10:20, 10:30] = 0.0
    return depth


def test_kinect_sigma_matches_reference_values():
    depth = np.array([[1000.0, 3000.0, 4000.0]], np.float32)
    sigma = F.kinect_axial_sigma_mm(depth, 0.0)
    np.testing.assert_allclose(sigma[0], [1.88, 14.04, 25.82], atol=0.05)
    assert F.kinect_axial_sigma_mm(np.zeros((1, 1), np.float32), 0.0)[0, 0] == 0.0
    assert F.kinect_axial_sigma_mm(depth, 1.0)[0, 0] > sigma[0, 0]  # grazing angles are noisier


@pytest.mark.parametrize("model", ["kinect", "amcw"])
def test_noise_std_on_flat_wall_matches_model(model):
    wall = np.full((320, 320), 2000.0, np.float32)  # 102,400 pixels at 2 m, theta = 0
    if model == "kinect":
        sigma = F.kinect_axial_sigma_mm(wall, 0.0)
    else:
        sigma = F.amcw_sigma_mm(wall, 0.0, sigma_ref_mm=2.0)
        np.testing.assert_allclose(sigma, 4.0, rtol=1e-6)  # σ ∝ d: 2 mm at 1 m → 4 mm at 2 m
    noisy = F.add_axial_noise(wall, sigma, np.random.default_rng(0))
    measured = (noisy - wall).std()
    assert abs(measured - sigma[0, 0]) < 0.1 * sigma[0, 0]
    assert abs((noisy - wall).mean()) < 0.05 * sigma[0, 0]


def test_amcw_ambient_law_and_cap():
    depth = np.array([[1000.0, 2000.0, 10000.0]], np.float32)
    sigma = F.amcw_sigma_mm(depth, 0.0, sigma_ref_mm=2.0, ambient=True, cap_mm=30.0)
    np.testing.assert_allclose(sigma[0], [2.0, 8.0, 30.0], rtol=1e-5)  # d², then capped
    darker = F.amcw_sigma_mm(depth, 0.0, sigma_ref_mm=2.0, reflectivity=0.25)
    np.testing.assert_allclose(darker[0, :2], [4.0, 8.0], rtol=1e-5)  # 1 / √ρ


def test_surface_angle_of_frontal_wall_is_the_ray_angle():
    h, w = 30, 40
    fx, fy, cx, cy = _intrinsics(h, w)
    theta = F.surface_angle(np.full((h, w), 1500.0, np.float32), fx, fy, cx, cy)
    v, u = np.mgrid[0:h, 0:w]
    expected = np.arctan(np.hypot((u - cx) / fx, (v - cy) / fy))
    np.testing.assert_allclose(theta, expected, atol=1e-3)


def test_surface_angle_of_tilted_plane_and_invalid_pixels():
    h, w = 30, 40
    fx, fy, cx, cy = _intrinsics(h, w)
    # plane z = 2000 + 0.5 * Y: normal (0, -0.5, 1), 26.57° from the optical axis
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    ray = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], -1)
    depth = (2000.0 / (1 - 0.5 * ray[..., 1])).astype(np.float32)
    depth[0, 0] = 0.0
    theta = F.surface_angle(depth, fx, fy, cx, cy)
    normal = np.array([0.0, -0.5, 1.0]) / np.sqrt(1.25)
    expected = np.arccos(np.abs(ray @ normal) / np.linalg.norm(ray, axis=-1))
    np.testing.assert_allclose(theta[2:-1, 2:-1], expected[2:-1, 2:-1], atol=2e-3)
    assert expected[h // 2, w // 2] == pytest.approx(np.arctan(0.5), abs=0.01)
    assert theta[0, 0] == pytest.approx(np.pi / 2)


def test_flying_pixels_none_on_a_plane():
    depth = np.linspace(1000.0, 1400.0, 48 * 64, dtype=np.float32).reshape(48, 64)
    out = F.add_flying_pixels(depth, np.random.default_rng(0), p_mix=1.0, p_drop=1.0)
    np.testing.assert_array_equal(out, depth)


def test_flying_pixels_mix_between_fg_and_bg_next_to_the_edge():
    depth = _step_scene()
    out = F.add_flying_pixels(depth, np.random.default_rng(1), p_mix=1.0, p_drop=0.0)
    changed = np.argwhere(out != depth)
    assert changed.size > 0 and set(changed[:, 1]) <= {29, 30}  # only the two columns at the step
    values = out[out != depth]
    assert ((values > 1000.0) & (values < 3000.0)).all()
    dropped = F.add_flying_pixels(depth, np.random.default_rng(1), p_mix=0.0, p_drop=1.0)
    assert (dropped[:, 29:31] == 0).all() and (dropped[:, :29] == 1000).all() and (dropped[:, 31:] == 3000).all()


def test_flying_pixels_threshold_is_relative_at_range():
    depth = _step_scene(fg=4000.0, bg=4100.0)  # 100 mm < 3 % of 4.1 m: not an edge
    out = F.add_flying_pixels(depth, np.random.default_rng(0), p_mix=1.0)
    np.testing.assert_array_equal(out, depth)


def test_multipath_bias_follows_the_proxy():
    flat = np.full((40, 40), 2000.0, np.float32)
    np.testing.assert_allclose(F.add_multipath(flat, 0.5, 15), flat, rtol=1e-6)
    corner = np.full((40, 40), 3000.0, np.float32)
    corner[10:30, 10:30] = 2000.0
    corner[0, 0] = 0.0
    out = F.add_multipath(corner, 0.5, 15)
    assert out[0, 0] == 0.0
    assert (out >= corner).all()  # bias is never negative
    assert out[20, 10] > corner[20, 10]  # nearer than its Gaussian neighbourhood → biased farther
    np.testing.assert_array_equal(out[20, 0], corner[20, 0])  # far side: neighbourhood is nearer → no bias


def test_low_signal_invalidation_depends_on_angle_and_range():
    depth = np.full((200, 200), 1000.0, np.float32)
    rng = np.random.default_rng(0)
    frontal = F.invalidate_low_signal(depth, 0.0, 5000.0, rng)
    np.testing.assert_array_equal(frontal, depth)
    grazing_far = F.invalidate_low_signal(np.full_like(depth, 4500.0), np.deg2rad(80.0), 5000.0, rng)
    assert (grazing_far == 0).mean() > 0.5
    grazing_near = F.invalidate_low_signal(depth, np.deg2rad(80.0), 5000.0, rng)
    assert (grazing_near == 0).mean() < (grazing_far == 0).mean()
    assert F.invalidate_low_signal(depth, np.deg2rad(80.0), 5000.0, rng, strength=0.0).min() == 1000.0


def test_speckle_holes_and_saturation_only_remove():
    rng = np.random.default_rng(0)
    depth = _holey_scene(rng)
    for out in (F.add_speckle(depth, 0.03, rng), F.add_holes(depth, rng, 3, 5.0),
                F.add_saturation(depth, rng, near_mm=2500.0, n=2, radius_px=6.0)):
        kept = out > 0
        np.testing.assert_array_equal(out[kept], depth[kept])
        assert kept.sum() < (depth > 0).sum()
    far = np.full((20, 20), 3000.0, np.float32)
    np.testing.assert_array_equal(F.add_saturation(far, rng, near_mm=800.0), far)


def test_phase_wrap_range():
    assert F.unambiguous_range_mm(20e6) == pytest.approx(7494.8, abs=0.1)
    assert F.unambiguous_range_mm(80e6) == pytest.approx(1873.7, abs=0.1)
    depth = np.array([[0.0, 2000.0, 8000.0]], np.float32)
    np.testing.assert_allclose(F.phase_wrap(depth, 20e6)[0], [0.0, 2000.0, 8000.0 - 7494.81], atol=0.05)


def test_scale_depth_reclips_and_quantise_rounds():
    depth = np.array([[0.0, 600.0, 3000.0, 4500.0]], np.float32)
    np.testing.assert_allclose(F.scale_depth(depth, 1.2, 500.0, 5000.0)[0], [0.0, 720.0, 3600.0, 0.0])
    np.testing.assert_allclose(F.scale_depth(depth, 0.8, 500.0, 5000.0)[0], [0.0, 0.0, 2400.0, 3600.0])
    np.testing.assert_array_equal(F.quantise_mm(np.array([[0.0, 1.4, 1.6]], np.float32))[0], [0.0, 1.0, 2.0])


@pytest.mark.parametrize("op", [
    lambda d: F.resized_crop(d, 5, 7, 30, 41, 64, 64),
    lambda d: F.resized_crop(d, 0, 0, 48, 64, 17, 23),
    lambda d: F.rotate(d, 17.0),
    lambda d: F.rotate(d, -8.0),
    F.hflip,
], ids=["crop-up", "crop-down", "rotate+17", "rotate-8", "hflip"])
def test_geometric_ops_never_smear_invalid(op):
    rng = np.random.default_rng(3)
    depth = _holey_scene(rng)
    out = op(depth)
    assert out.dtype == np.float32
    assert np.isin(out, depth).all()  # nearest resampling: every output value is an input value
    assert not ((out > 0) & (out < depth[depth > 0].min())).any()  # no fake near surfaces


def test_hflip_undoes_itself():
    depth = _holey_scene(np.random.default_rng(0))
    np.testing.assert_array_equal(F.hflip(F.hflip(depth)), depth)


def test_ops_do_not_mutate_inputs():
    rng = np.random.default_rng(0)
    depth = _holey_scene(rng)
    before = depth.copy()
    theta = F.surface_angle(depth, *_intrinsics(*depth.shape))
    F.add_axial_noise(depth, 5.0, rng)
    F.add_flying_pixels(depth, rng)
    F.add_multipath(depth, 0.3, 9)
    F.invalidate_low_signal(depth, theta, 5000.0, rng)
    F.add_speckle(depth, 0.1, rng)
    F.add_holes(depth, rng)
    F.add_saturation(depth, rng, near_mm=3000.0)
    F.phase_wrap(depth, 80e6)
    F.scale_depth(depth, 1.1, 500, 4000)
    F.quantise_mm(depth)
    F.resized_crop(depth, 0, 0, 20, 20, 10, 10)
    F.rotate(depth, 5.0)
    F.hflip(depth)
    F.simulate_sensor(depth, get_sensor("generic"), rng)
    np.testing.assert_array_equal(depth, before)


@pytest.mark.parametrize("sensor", ["generic", "kinect_v2", "azure_kinect_nfov"])
def test_simulate_sensor_gives_a_plausible_uint16_frame(sensor):
    profile = get_sensor(sensor)
    h, w = 48, 64
    cam = scaled(profile, w, h)
    depth = np.full((h, w), 2500.0, np.float32)
    depth[15:35, 20:44] = 1500.0
    depth[:, :4] = 20_000.0  # beyond the range
    frame = F.simulate_sensor(depth, profile, np.random.default_rng(0))
    again = F.simulate_sensor(depth, profile, np.random.default_rng(0))
    assert frame.dtype == np.uint16 and frame.shape == (h, w)
    np.testing.assert_array_equal(frame, again)
    valid = frame > 0
    assert (frame[:, :4] == 0).all()
    assert frame[valid].min() >= cam.min_range_mm and frame[valid].max() <= cam.max_range_mm
    assert 0.7 < valid[:, 4:].mean() <= 1.0
    assert abs(np.median(frame[20:30, 25:40]) - 1500) < 15
