"""The tof modality: lossless reading, bad files, options, normalisation, views, sensors, evaluation sets."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from domainssl.augment.tof.recipe import ViewRecipe
from domainssl.config import RunConfig
from domainssl.errors import ConfigError, InvalidInputError
from domainssl.modalities import get_modality
from domainssl.modalities import tof as tof_module
from domainssl.physics.tof_sensors import SENSORS, SensorName, get_sensor, scaled


def _frame(h: int = 48, w: int = 64) -> np.ndarray:
    depth = np.full((h, w), 3000.0, np.float32)
    depth[12:36, 16:48] = 1200.0
    depth[:4, :6] = 0.0
    return depth


# ---------------------------------------------------------------------------------------- sensors


def test_sensor_names_and_profiles():
    assert set(SensorName.__args__) == set(SENSORS)
    azure = get_sensor("azure_kinect_nfov")
    assert (azure.width, azure.height, azure.min_range_mm, azure.max_range_mm) == (640, 576, 500.0, 3860.0)
    assert 2 * np.degrees(np.arctan(azure.width / 2 / azure.fx)) == pytest.approx(75.0)
    assert (get_sensor("kinect_v2").width, get_sensor("sony_imx556").height) == (512, 480)
    with pytest.raises(KeyError, match="generic"):
        get_sensor("nope")


def test_scaled_intrinsics_keep_the_field_of_view():
    profile = get_sensor("kinect_v2")
    half = scaled(profile, 256, 212)
    assert half.fx == pytest.approx(profile.fx / 2) and half.cx == pytest.approx((profile.cx + 0.5) / 2 - 0.5)
    assert scaled(profile, 512, 424) is profile


# ---------------------------------------------------------------------------------------- reading


def test_every_uint16_level_survives_png_read(tmp_path):
    levels = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    path = tmp_path / "all_levels.png"
    assert cv2.imwrite(str(path), levels)
    depth = get_modality("tof").read(path)
    assert depth.dtype == np.float32 and depth.shape == (256, 256)
    np.testing.assert_array_equal(depth, levels.astype(np.float64))
    assert np.unique(depth).size == 65536


def test_npy_npz_tiff_units(tmp_path):
    tof = get_modality("tof")
    metres = np.array([[0.0, 1.25], [np.nan, 3.5]], np.float32)
    np.save(tmp_path / "m.npy", metres)
    np.testing.assert_allclose(tof.read(tmp_path / "m.npy"), [[0.0, 1250.0], [0.0, 3500.0]])
    np.savez(tmp_path / "mm.npz", depth=np.array([[0, 1234], [65535, 7]], np.uint16), other=np.zeros(3))
    np.testing.assert_array_equal(tof.read(tmp_path / "mm.npz"), [[0.0, 1234.0], [65535.0, 7.0]])
    assert cv2.imwrite(str(tmp_path / "m.tif"), metres)
    np.testing.assert_allclose(tof.read(tmp_path / "m.tif"), [[0.0, 1250.0], [0.0, 3500.0]])
    millimetres = np.array([[-5.0, 1250.0]], np.float32)
    np.save(tmp_path / "mm_float.npy", millimetres)
    with pytest.raises(InvalidInputError, match="units=mm"):
        tof.read(tmp_path / "mm_float.npy")
    np.testing.assert_array_equal(get_modality("tof", units="mm").read(tmp_path / "mm_float.npy"), [[0.0, 1250.0]])


@pytest.mark.parametrize("name, write, problem", [
    ("truncated.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nnot really"), "cannot"),
    ("colour.png", lambda p: cv2.imwrite(str(p), np.full((8, 8, 3), 100, np.uint16)), "channels"),
    ("eight_bit.png", lambda p: cv2.imwrite(str(p), np.full((8, 8), 100, np.uint8)), "uint8"),
    ("empty.png", lambda p: cv2.imwrite(str(p), np.zeros((8, 8), np.uint16)), "no valid depth"),
    ("volume.npy", lambda p: np.save(p, np.ones((2, 8, 8), np.uint16)), "2D"),
    ("pickled.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object)), "cannot be read"),
    ("many.npz", lambda p: np.savez(p, a=np.ones((4, 4)), b=np.ones((4, 4))), "'depth'"),
])
def test_bad_files_name_the_file(tmp_path, name, write, problem):
    path = tmp_path / name
    write(path)
    with pytest.raises(InvalidInputError) as info:
        get_modality("tof").read(path)
    assert str(path) in str(info.value) and problem in str(info.value)


# ---------------------------------------------------------------------------------------- options


def test_channels_set_in_chans_and_are_validated():
    config = RunConfig.resolve({}, {"modality.channels": ["depth", "valid"]})
    assert config.modality.name == "tof"
    assert get_modality("tof", config.modality.options).in_chans == 2
    assert get_modality("tof").in_chans == 1
    with pytest.raises(ConfigError, match="channels"):
        RunConfig.resolve({}, {"modality.channels": ["valid"]})
    with pytest.raises(ConfigError, match="sensor"):
        RunConfig.resolve({}, {"modality.sensor": "kinect_v9"})
    with pytest.raises(ConfigError, match="noise_p"):
        RunConfig.resolve({}, {"modality.noise_p": 1.5})
    assert get_modality("tof", object_aware_crop=True).options.object_aware_crop == 0.8


# ---------------------------------------------------------------------------------------- normalisation


def test_invalid_stays_distinguishable_from_near():
    tof = get_modality("tof", channels=["depth", "valid"])
    sensor = tof.sensor
    depth = np.array([[0.0, 1.0, sensor.min_range_mm, sensor.max_range_mm, 2 * sensor.max_range_mm]], np.float32)
    unit = tof.scale(depth, tof.validity(depth))
    assert unit.shape == (2, 1, 5)
    assert unit[0, 0, 0] == 0.0 and (unit[0, 0, 1:] >= tof_module.INVALID_GAP).all()
    np.testing.assert_array_equal(unit[1, 0], [0, 1, 1, 1, 1])
    tof.fit_stats([_frame(), _frame() * 0.9])
    assert len(tof.options.mean) == len(tof.options.std) == 2
    normed = tof.normalise(depth, tof.validity(depth))
    assert normed[0, 0, 0] < normed[0, 0, 1:].min()  # invalid sits below every valid depth
    assert set(tof.stats) == {"mean", "std"}


def test_fit_stats_matches_scaled_pixels():
    tof = get_modality("tof")
    frames = [_frame(), np.roll(_frame(), 5, axis=1)]
    tof.fit_stats(frames)
    pixels = np.concatenate([tof.scale(f, f > 0).ravel() for f in frames])
    assert tof.options.mean[0] == pytest.approx(pixels.mean(), abs=1e-5)
    assert tof.options.std[0] == pytest.approx(pixels.std(), abs=1e-5)


# ---------------------------------------------------------------------------------------- views


@pytest.mark.parametrize("channels", [["depth"], ["depth", "valid"]])
def test_views_shape_and_seeding(channels):
    tof = get_modality("tof", channels=channels, object_aware_crop=0.5)
    fn = tof.views("byol", 32, 2)
    frame = _frame()
    first = fn(frame, np.random.default_rng(4))
    second = fn(frame, np.random.default_rng(4))
    assert len(first) == 2
    for a, b in zip(first, second):
        assert a.shape == (len(channels), 32, 32) and a.dtype == np.float32 and np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # the two views are independent draws
    assert not np.array_equal(first[0], fn(frame, np.random.default_rng(5))[0])


def test_method_recipes_and_overrides():
    tof = get_modality("tof")
    assert tof.recipe("simclr").crop_scale == [0.2, 1.0]
    assert tof.recipe("byol").crop_scale == [0.3, 1.0]
    assert get_modality("tof", crop_scale=[0.5, 0.9]).recipe("simclr").crop_scale == [0.5, 0.9]


def test_options_keys_are_the_view_recipe_fields_plus_the_frame_keys():
    keys = [f.name for f in dataclasses.fields(tof_module.ToFOptions)]
    assert keys == ["sensor", "units", "channels", "max_range_mm", "object_aware_crop", "crop_scale", "flip_p",
                    "rotate_p", "rotate_deg", "scale_p", "scale_range", "noise_p", "noise_gain", "flying_p",
                    "multipath_p", "invalid_p", "speckle_p", "holes_p", "saturation_p", "wrap_p", "mean", "std"]
    view_keys = [f.name for f in dataclasses.fields(ViewRecipe)]
    assert keys[4:-2] == view_keys
    config = RunConfig.resolve({}, {"modality.rotate_deg": 4, "modality.noise_gain": [1, 3],
                                                "modality.object_aware_crop": True})
    assert list(config.modality.to_dict()) == ["name", *keys]
    tof = get_modality("tof", config.modality.options)
    recipe = tof.recipe("byol")
    assert type(recipe) is ViewRecipe
    assert (recipe.rotate_deg, recipe.noise_gain, recipe.object_aware_crop) == (4.0, [1.0, 3.0], 0.8)
    assert {k: getattr(recipe, k) for k in view_keys if k != "crop_scale"} == \
        {k: getattr(tof.options, k) for k in view_keys if k != "crop_scale"}
    with pytest.raises(ConfigError, match="modality.wrap_p"):
        RunConfig.resolve({}, {"modality.wrap_p": -0.1})


def test_views_without_perturbations_only_crop_clean_values():
    off = dict(flip_p=0.0, rotate_p=0.0, scale_p=0.0, noise_p=0.0, flying_p=0.0, multipath_p=0.0, invalid_p=0.0,
               speckle_p=0.0, holes_p=0.0, saturation_p=0.0, wrap_p=0.0)
    tof = get_modality("tof", **off)
    tof.fit_stats([_frame()])
    frame = _frame()
    view = tof.views("byol", 32, 1)(frame, np.random.default_rng(0))[0]
    allowed = tof.normalise(frame, frame > 0)
    assert np.isin(view, allowed).all()


def test_object_aware_crop_finds_the_object():
    from domainssl.augment.tof.views import foreground_mask

    h, w = 96, 128
    cam = scaled(get_sensor("generic"), w, h)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    # camera 1 m above a floor, pitched 30° down; a wall 4 m ahead; a box standing on the floor
    pitch = np.radians(30)
    ray_y = (v - cam.cy) / cam.fy
    down = np.sin(pitch) + ray_y * np.cos(pitch)  # vertical component of a ray with z = 1 (per unit z)
    forward = np.cos(pitch) - ray_y * np.sin(pitch)
    t_floor = np.where(down > 1e-6, 1000.0 / np.maximum(down, 1e-6), np.inf)
    t_wall = np.where(forward > 1e-6, 4000.0 / np.maximum(forward, 1e-6), np.inf)
    depth = np.minimum(t_floor, t_wall)
    depth = np.where(np.isfinite(depth), depth, 0).astype(np.float32)
    truth = np.zeros((h, w), bool)
    truth[40:70, 50:80] = True
    depth[truth] = depth[truth].min() - 300.0  # a box face 30 cm in front of the floor behind it
    mask = foreground_mask(depth, cam, np.random.default_rng(0), min_plane_fraction=0.1)  # the wall is small here
    small_truth = cv2.resize(truth.astype(np.uint8), mask.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    precision = (mask & small_truth).sum() / max(mask.sum(), 1)
    recall = (mask & small_truth).sum() / small_truth.sum()
    assert precision > 0.9 and recall > 0.7


def test_display_panels():
    panels = get_modality("tof").display(_frame())
    assert [t.split(" ")[0] for t, _ in panels] == ["depth", "valid"]
    depth_panel = panels[0][1]
    assert np.isnan(depth_panel[0, 0]) and depth_panel[20, 20] == pytest.approx(1.2)
