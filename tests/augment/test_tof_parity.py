"""Same seed, same view: the albumentations ToF classes reproduce the training views of ``make_view``."""

from __future__ import annotations

import dataclasses
import random

import albumentations as A
import numpy as np
import pytest

from domainssl.augment.tof import transforms as T
from domainssl.augment.tof.recipe import ViewRecipe
from domainssl.augment.tof.views import make_view, view_transforms
from domainssl.physics.tof_sensors import get_sensor

SIZE = 32
ALL_ON = {f.name: 1.0 for f in dataclasses.fields(ViewRecipe) if f.name.endswith("_p")}
SENSORS = ("generic", "kinect_v2")  # the AMCW and the Kinect noise model

#: What make_view drew for the published results (before the classes owned the draws).
TRAINING_RANGES = {
    T.DepthRandomResizedCrop: {"scale": (0.3, 1.0), "ratio": (0.75, 4 / 3), "p": 1.0},
    T.DepthHorizontalFlip: {"p": 0.5},
    T.DepthRotate: {"limit": (-10.0, 10.0), "p": 0.3},
    T.DepthScaleJitter: {"factor": (0.8, 1.25), "p": 0.8},
    T.Multipath: {"beta": (0.0, 0.5), "kernel_fraction": (0.05, 0.1), "p": 0.3},
    T.AxialNoise: {"gain": (0.5, 2.0), "p": 0.8},
    T.FlyingPixels: {"p_mix": (0.3, 0.8), "p_drop": (0.2, 0.5), "p": 0.5},
    T.LowSignalInvalidation: {"strength": (0.2, 1.0), "p": 0.5},
    T.Speckle: {"fraction": (0.0, 0.03), "p": 0.5},
    T.Holes: {"n": (1, 3), "radius_fraction": (0.02, 0.06), "p": 0.3},
    T.Saturation: {"near_factor": (1.2, 2.0), "radius_fraction": (0.03, 0.08), "n": 1, "p": 0.1},
    T.PhaseWrap: {"range_fraction": (0.6, 0.95), "p": 0.05},
}


def _frame(h: int = 48, w: int = 64) -> np.ndarray:
    """A floor ramp with a near box (saturates), a step (flying pixels) and missing pixels."""
    v, u = np.mgrid[0:h, 0:w]
    depth = (1800.0 + 25.0 * v + 4.0 * u).astype(np.float32)
    depth[8:26, 6:28] = 560.0
    depth[28:44, 36:60] = 1100.0
    depth[np.random.default_rng(0).random((h, w)) < 0.04] = 0.0
    return depth


def _by_hand(sensor, p: float | None = None) -> list:
    """The public classes composed as the docs list them, with their defaults (or every p set to ``p``)."""
    kw = {} if p is None else {"p": p}
    return [T.DepthRandomResizedCrop((SIZE, SIZE)), T.DepthHorizontalFlip(**kw), T.DepthRotate(**kw),
            T.DepthScaleJitter(sensor=sensor, **kw), T.SurfaceAngle(), T.Multipath(**kw),
            T.AxialNoise(sensor=sensor, **kw), T.FlyingPixels(**kw), T.LowSignalInvalidation(sensor=sensor, **kw),
            T.Speckle(**kw), T.Holes(**kw), T.Saturation(sensor=sensor, **kw), T.PhaseWrap(**kw), T.Quantise()]


def _compose(transforms: list, sensor, seed: int, centre=None) -> dict:
    """One ``A.Compose`` call whose transforms share one generator seeded with ``seed``."""
    pipeline = A.Compose(transforms, save_applied_params=True)
    pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
    frame = _frame()
    return pipeline(image=frame, camera=T.ViewCamera.of(sensor, *frame.shape), crop_centre=centre)


@pytest.mark.parametrize("sensor_name", SENSORS)
@pytest.mark.parametrize("forced", [False, True], ids=["default_p", "every_op_p1"])
def test_compose_of_view_transforms_reproduces_make_view(sensor_name, forced):
    sensor = get_sensor(sensor_name)
    recipe = ViewRecipe(**ALL_ON) if forced else ViewRecipe()
    applied = []
    for seed in range(6):
        centre = (20.0, 24.0) if seed % 2 else None  # the object-aware crop too
        out = _compose(view_transforms(recipe, sensor, SIZE), sensor, seed, centre)
        expected = make_view(_frame(), np.random.default_rng(seed), recipe, sensor, SIZE, centre)
        np.testing.assert_array_equal(out["image"], expected)
        applied.append([name for name, _ in out["applied_transforms"]])
    if forced:
        assert all(names == [type(t).__name__ for t in view_transforms(recipe, sensor, SIZE)] for names in applied)
    else:
        assert len({len(names) for names in applied}) > 1  # the probabilities really were tested


@pytest.mark.parametrize("sensor_name", SENSORS)
@pytest.mark.parametrize("p", [None, 1.0], ids=["default_p", "every_op_p1"])
def test_default_classes_composed_by_hand_are_the_training_view(sensor_name, p):
    sensor = get_sensor(sensor_name)
    recipe = ViewRecipe(**ALL_ON) if p == 1.0 else ViewRecipe()
    views = []
    for seed in range(4):
        out = _compose(_by_hand(sensor, p), sensor, seed)["image"]
        np.testing.assert_array_equal(out, make_view(_frame(), np.random.default_rng(seed), recipe, sensor, SIZE))
        views.append(out)
    assert not np.array_equal(views[0], views[1])  # different seeds, different views
    assert all(v.shape == (SIZE, SIZE) and v.dtype == np.float32 and (v > 0).any() for v in views)


@pytest.mark.parametrize("cls", list(TRAINING_RANGES), ids=lambda c: c.__name__)
def test_class_defaults_are_the_training_ranges(cls):
    transform = cls((SIZE, SIZE)) if cls is T.DepthRandomResizedCrop else cls()
    for name, value in TRAINING_RANGES[cls].items():
        assert getattr(transform, name) == pytest.approx(value), name


def test_view_transforms_of_the_default_recipe_are_the_default_classes():
    sensor = get_sensor("kinect_v2")

    def init_args(transform) -> dict:
        return {**transform.get_base_init_args(), **transform.get_transform_init_args()}

    built = view_transforms(ViewRecipe(), sensor, SIZE)
    assert [type(t) for t in built] == [type(t) for t in _by_hand(sensor)]
    for ours, default in zip(built, _by_hand(sensor)):
        assert init_args(ours) == init_args(default), type(ours).__name__


def test_recipe_fields_reach_the_transforms():
    recipe = ViewRecipe(crop_scale=[0.5, 0.6], rotate_deg=4.0, scale_range=[0.9, 1.1], noise_gain=[1.0, 1.5],
                        **{key: 0.25 for key in ALL_ON})
    built = {type(t): t for t in view_transforms(recipe, get_sensor("generic"), SIZE)}
    assert built[T.DepthRandomResizedCrop].scale == pytest.approx((0.5, 0.6))
    assert built[T.DepthRotate].limit == pytest.approx((-4.0, 4.0))
    assert built[T.DepthScaleJitter].factor == pytest.approx((0.9, 1.1))
    assert built[T.AxialNoise].gain == pytest.approx((1.0, 1.5))
    always = (T.DepthRandomResizedCrop, T.SurfaceAngle, T.Quantise)
    probabilistic = [t for t in built.values() if not isinstance(t, always)]
    assert len(probabilistic) == len(ALL_ON) and all(t.p == 0.25 for t in probabilistic)
