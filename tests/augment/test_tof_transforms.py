"""Sweep of the albumentations-compatible ToF transforms: dtype, shape, finiteness, seeding, masks, boxes, camera."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from domainssl.augment.tof import transforms as T

GEOMETRIC = (T.DepthRandomResizedCrop, T.DepthHorizontalFlip, T.DepthRotate)


def _make(cls, p: float = 1.0):
    if cls is T.DepthRandomResizedCrop:
        return cls(size=(40, 56), p=p)
    if cls is T.DepthRotate:
        return cls(limit=(12.0, 20.0), p=p)
    if cls is T.Saturation:
        return cls(near_factor=(6.5, 8.0), p=p)  # 1625-2000 mm for the generic sensor: the scene's box saturates
    return cls(p=p)


def _camera(depth: np.ndarray) -> T.ViewCamera:
    return T.ViewCamera.of("generic", *depth.shape[:2])


def _scene(seed: int = 0, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    depth = np.full((h, w), 3000.0, np.float32)
    depth[10:40, 15:45] = 1500.0
    depth[rng.random((h, w)) < 0.05] = 0.0
    return depth


@pytest.mark.parametrize("cls", T.ALL_TRANSFORMS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("channel_axis", [False, True], ids=["HW", "HW1"])
def test_sweep_inside_compose_with_mask(cls, channel_axis):
    depth = _scene()
    image = depth[..., None] if channel_axis else depth
    mask = (depth > 0).astype(np.uint8)
    before_image, before_mask = image.copy(), mask.copy()
    out = A.Compose([_make(cls)], seed=7)(image=image, mask=mask, camera=_camera(depth))
    result, out_mask = out["image"], out["mask"]
    np.testing.assert_array_equal(image, before_image)  # no input mutation
    np.testing.assert_array_equal(mask, before_mask)
    assert result.dtype == np.float32
    assert np.isfinite(result).all() and (result >= 0).all()
    expected_hw = (40, 56) if cls is T.DepthRandomResizedCrop else depth.shape
    assert result.shape == expected_hw + ((1,) if channel_axis else ())
    assert out_mask.shape == expected_hw
    if cls in GEOMETRIC:
        # the mask moved exactly like the depth: valid where depth is valid
        np.testing.assert_array_equal(out_mask.astype(bool), result.reshape(expected_hw) > 0)
        assert np.isin(result, depth).all()  # nearest resampling, zero border
    else:
        np.testing.assert_array_equal(out_mask, mask)  # value transforms leave masks alone
        assert not ((result.reshape(expected_hw) > 0) & (depth == 0)).any()  # nothing valid appears in holes


@pytest.mark.parametrize("cls", T.ALL_TRANSFORMS, ids=lambda c: c.__name__)
def test_p_zero_is_identity(cls):
    if cls is T.DepthRandomResizedCrop:
        pytest.skip("a resize to a fixed size is not an identity; covered by p=1 tests")
    depth = _scene()
    out = A.Compose([_make(cls, p=0.0)], seed=1)(image=depth, camera=_camera(depth))["image"]
    np.testing.assert_array_equal(out, depth)


@pytest.mark.parametrize("cls", T.ALL_TRANSFORMS, ids=lambda c: c.__name__)
def test_same_seed_same_output(cls):
    depth = _scene()
    first = A.Compose([_make(cls)], seed=11)(image=depth, camera=_camera(depth))["image"]
    second = A.Compose([_make(cls)], seed=11)(image=depth, camera=_camera(depth))["image"]
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("cls", [T.DepthRandomResizedCrop, T.DepthRotate, T.AxialNoise, T.Speckle, T.Holes])
def test_different_seeds_differ(cls):
    depth = _scene()
    outs = [A.Compose([_make(cls)], seed=s)(image=depth)["image"] for s in (1, 2)]
    assert not np.array_equal(*outs)


def test_full_pipeline_is_seeded_and_keeps_invalid_zero():
    pipeline = [
        T.DepthRandomResizedCrop((32, 32)), T.DepthHorizontalFlip(), T.DepthRotate(), T.DepthScaleJitter(),
        T.Multipath(), T.AxialNoise(sensor="kinect_v2"), T.FlyingPixels(), T.LowSignalInvalidation(), T.Speckle(),
        T.Holes(), T.Saturation(), T.PhaseWrap(p=0.1), T.Quantise(),
    ]
    depth = _scene()
    a = A.Compose(pipeline, seed=5)(image=depth)["image"]
    b = A.Compose(pipeline, seed=5)(image=depth)["image"]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.round(a))


@pytest.mark.parametrize("cls", GEOMETRIC, ids=lambda c: c.__name__)
def test_boxes_follow_geometric_transforms(cls):
    depth = np.zeros((48, 64), np.float32)
    depth[10:30, 20:40] = 1500.0  # an object whose box is [20, 10, 40, 30]
    compose = A.Compose([_make(cls)], bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]), seed=3)
    out = compose(image=depth, bboxes=np.array([[20, 10, 40, 30]], np.float32), labels=[1])
    ys, xs = np.nonzero(out["image"] > 0)
    assert len(out["bboxes"]) == 1
    x0, y0, x1, y1 = out["bboxes"][0]
    tolerance = 2.5 if cls is T.DepthRotate else 1.01  # rotated boxes enclose the rotated corners
    assert x0 <= xs.min() + tolerance and y0 <= ys.min() + tolerance
    assert x1 >= xs.max() + 1 - tolerance and y1 >= ys.max() + 1 - tolerance
    if cls is not T.DepthRotate:
        np.testing.assert_allclose([x0, y0, x1, y1], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1.01)


def test_phase_wrap_range_is_a_fraction_of_the_farthest_depth():
    depth = np.array([[0.0, 3000.0], [5000.0, 10000.0]], np.float32)
    out = A.Compose([T.PhaseWrap(range_fraction=(0.6, 0.6), p=1.0)], seed=0)(image=depth)["image"]
    np.testing.assert_allclose(out, [[0.0, 3000.0], [5000.0, 4000.0]], atol=0.05)  # R = 6000 mm


def test_phase_wrap_of_an_empty_frame_draws_nothing():
    wrap = T.PhaseWrap(p=1.0)
    rng = np.random.default_rng(0)
    assert wrap.draw(rng, {"image": np.zeros((4, 4), np.float32)}) == {"unambiguous_mm": None}
    assert rng.random() == np.random.default_rng(0).random()


def test_camera_follows_crop_and_flip():
    depth = _scene()
    camera = T.ViewCamera.of("generic", *depth.shape)
    pipeline = A.Compose([T.DepthRandomResizedCrop((24, 32)), T.DepthHorizontalFlip(p=1.0)], seed=2,
                         save_applied_params=True)
    out = pipeline(image=depth, camera=camera)
    x0, y0, x1, y1 = dict(out["applied_transforms"])["DepthRandomResizedCrop"]["crop_coords"]
    sx, sy = 32 / (x1 - x0), 24 / (y1 - y0)
    moved = out["camera"]
    assert (moved.fx, moved.fy, moved.zoom) == pytest.approx((camera.fx * sx, camera.fy * sy, sx))
    assert moved.cx == pytest.approx(31 - ((camera.cx - x0 + 0.5) * sx - 0.5))  # mirrored in the 32-wide view
    assert moved.cy == pytest.approx((camera.cy - y0 + 0.5) * sy - 0.5)
    assert moved.frame_width == depth.shape[1] and camera.zoom == 1.0  # the input camera is not mutated


def test_sensor_ops_use_the_recorded_clean_angle():
    depth = _scene()
    camera = T.ViewCamera.of("generic", *depth.shape)
    data = {"image": depth, "camera": camera}
    recorded = A.Compose([T.SurfaceAngle()])(**data)["camera"]
    np.testing.assert_array_equal(recorded.theta, camera.surface_angle(depth))
    noisy = A.Compose([T.AxialNoise(gain=(20.0, 20.0), p=1.0)], seed=0)(**data)["image"]
    low = T.LowSignalInvalidation()
    theta_recorded = low.draw(np.random.default_rng(0), {"image": noisy, "camera": recorded})["theta"]
    theta_own = low.draw(np.random.default_rng(0), {"image": noisy, "camera": camera})["theta"]
    np.testing.assert_array_equal(theta_recorded, recorded.theta)  # the clean geometry, not the noise
    assert (theta_own > theta_recorded + 0.1).mean() > 0.1  # the noisy surface looks much more grazing


def test_surface_angle_needs_a_camera():
    with pytest.raises(KeyError, match="camera=ViewCamera.of"):
        A.Compose([T.SurfaceAngle()])(image=_scene())


def test_multipath_kernel_is_relative_to_the_frame_width():
    cropped = T.ViewCamera.of("generic", 48, 64).resized_crop((0, 0, 16, 12), 48, 64)  # 4x zoom
    multipath = T.Multipath(kernel_fraction=(0.1, 0.1))
    depth = np.full((48, 64), 1000.0, np.float32)
    assert multipath.draw(np.random.default_rng(0), {"image": depth})["kernel_px"] == 6  # 10 % of 64 px
    assert multipath.draw(np.random.default_rng(0), {"image": depth, "camera": cropped})["kernel_px"] == 25
