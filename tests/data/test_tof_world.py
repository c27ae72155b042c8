"""The synthetic ToF world: determinism, geometric truth of depth and labels, files on disk."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from domainssl.data.synthetic import (
    CLASS_NAMES,
    ensure_dataset,
    load_labelled_frames,
    load_segmentation_frames,
    render_frame,
    write_dataset,
)
from domainssl.data.synthetic import writer as writer_module
from domainssl.data.synthetic.raycast import render
from domainssl.data.synthetic.scene import Scene, Solid, sample_cluttered, sample_object
from domainssl.data.synthetic.tof_world import camera_for, object_class

W, H = 64, 48
TOL_MM = 0.05


# ------------------------------------------------------------------ an independent model of the solids


def solid_margin(solid: Solid, points: np.ndarray) -> np.ndarray:
    """Signed margin (mm) of world points (..., 3): < 0 inside the solid, 0 on its surface, > 0 outside."""
    c, s = np.cos(solid.yaw), np.sin(solid.yaw)
    rel = points - solid.base
    x, y, z = c * rel[..., 0] + s * rel[..., 1], -s * rel[..., 0] + c * rel[..., 1], rel[..., 2]
    a, b, h = solid.size[0] / 2, solid.size[1] / 2, solid.size[2]
    rho = np.hypot(x, y)
    if solid.name == "box":
        return np.max([np.abs(x) - a, np.abs(y) - b, z - h, -z], axis=0)
    if solid.name == "sphere":
        return np.sqrt(x**2 + y**2 + (z - a) ** 2) - a
    if solid.name == "cylinder":
        return np.max([rho - a, z - h, -z], axis=0)
    if solid.name == "cone":
        k = a / h
        return np.max([(rho - k * (h - z)) / np.sqrt(1 + k * k), -z], axis=0)
    if solid.name == "pyramid":
        sides = [(np.abs(x) * h + z * a - h * a) / np.hypot(h, a), (np.abs(y) * h + z * b - h * b) / np.hypot(h, b)]
        return np.max([*sides, -z], axis=0)
    raise AssertionError(solid.name)


def hit_points(scene: Scene, depth: np.ndarray, intr) -> np.ndarray:
    """World points (H, W, 3) of each pixel's Z-depth, back-projected through the intrinsics."""
    v, u = np.mgrid[: intr.height, : intr.width]
    rays = np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones_like(u, float)], -1)
    return scene.camera.position + (rays * depth[..., None].astype(np.float64)) @ scene.camera.rotation.T


def tight_box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def rle_decode(rle: dict) -> np.ndarray:
    values = np.arange(len(rle["counts"])) % 2
    h, w = rle["size"]
    return np.repeat(values, rle["counts"]).reshape((h, w), order="F").astype(bool)


@pytest.fixture(params=["cluttered", *CLASS_NAMES])
def scene_and_render(request):
    """A cluttered scene, and an object scene per class so every intersection routine is checked."""
    _, intr = camera_for("generic", W, H)
    rng = np.random.default_rng([3, 1])
    if request.param == "cluttered":
        scene = sample_cluttered(rng, intr)
    else:
        scene = sample_object(rng, intr, class_id=CLASS_NAMES.index(request.param) + 1)
    return scene, render(scene, intr), intr


# ------------------------------------------------------------------ geometry and labels


def test_depth_is_the_nearest_surface_along_each_ray(scene_and_render):
    scene, out, intr = scene_and_render
    assert len(scene.solids) >= 1 and (out.instance > 0).any()
    points = hit_points(scene, out.depth, intr)
    for k, solid in enumerate(scene.solids, start=1):
        mine = out.instance == k
        if mine.any():  # object pixels lie on that solid's surface
            assert np.abs(solid_margin(solid, points[mine])).max() < TOL_MM, solid.name
    background = (out.instance == 0) & (out.depth > 0)
    plane_gap = np.min([np.abs(points[background] @ p.normal - p.offset) for p in scene.planes], axis=0)
    assert plane_gap.max() < TOL_MM  # background pixels lie on the floor or a wall
    # Nothing is crossed on the way: samples along every ray before its hit are outside every solid.
    hit = out.depth > 0
    fractions = np.linspace(0.02, 0.995, 40)[:, None]
    origin = scene.camera.position
    samples = origin + fractions[..., None] * (points[hit] - origin)[None]  # 40 x P x 3
    for solid in scene.solids:
        assert solid_margin(solid, samples).min() > -TOL_MM, solid.name
    for plane in scene.planes:
        assert (samples @ plane.normal - plane.offset).min() > -TOL_MM


def test_semantic_instance_and_angles_agree(scene_and_render):
    scene, out, _ = scene_and_render
    for k, solid in enumerate(scene.solids, start=1):
        assert np.all(out.semantic[out.instance == k] == solid.class_id)
    assert np.array_equal(out.semantic > 0, out.instance > 0)
    hit = out.depth > 0
    assert np.all((out.theta[hit] >= 0) & (out.theta[hit] <= np.pi / 2))
    assert np.all((out.reflectivity[hit] > 0) & (out.reflectivity[hit] <= 1))


@pytest.mark.parametrize("scene", ["cluttered", "object"])
def test_frame_boxes_and_instances(scene):
    for index in range(4):
        frame = render_frame(index, scene, W, H, "generic", seed=5)
        ids = np.unique(frame.instance[frame.instance > 0])
        assert np.array_equal(ids, np.arange(1, len(frame.classes) + 1))  # consecutive visible ids
        assert frame.boxes.shape == (len(ids), 4)
        for k in ids:
            assert frame.boxes[k - 1].tolist() == tight_box(frame.instance == k)
            assert np.all(frame.semantic[frame.instance == k] == frame.classes[k - 1])
        if scene == "cluttered":
            assert frame.label is None
        else:
            assert frame.classes[0] == frame.label
            assert np.mean(frame.instance == 1) >= 0.15  # the dominant object


def test_measured_frame_marks_missing_surfaces_invalid():
    frame = render_frame(2, "cluttered", W, H, "generic", seed=0)
    assert frame.measured.dtype == np.uint16 and frame.clean.dtype == np.float32
    assert np.all(frame.measured[frame.clean == 0] == 0)
    valid = frame.measured > 0
    assert valid.mean() > 0.2
    assert np.median(np.abs(frame.measured[valid] - frame.clean[valid])) < 50  # noise, not a different scene


def test_same_seed_same_frame_other_seed_other_frame():
    a = render_frame(3, "object", W, H, "generic", seed=1)
    b = render_frame(3, "object", W, H, "generic", seed=1)
    for field in ("measured", "clean", "semantic", "instance", "reflectivity", "theta", "boxes", "classes"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert not np.array_equal(a.clean, render_frame(3, "object", W, H, "generic", seed=2).clean)


def test_object_classes_are_balanced():
    k = len(CLASS_NAMES)
    labels = [object_class(i, seed=7) for i in range(4 * k)]
    assert np.bincount(labels, minlength=k + 1)[1:].tolist() == [4] * k
    assert labels[:k] != labels[k : 2 * k] or labels[k : 2 * k] != labels[2 * k : 3 * k]  # shuffled per block


# ------------------------------------------------------------------ files on disk


@pytest.fixture(scope="module")
def object_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("obj") / "ds", n=2 * len(CLASS_NAMES), scene="object",
                         width=W, height=H, sensor="generic", seed=11)


@pytest.fixture(scope="module")
def cluttered_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("clu") / "ds", n=4, scene="cluttered", width=W, height=H, seed=11)


def test_same_seed_gives_byte_identical_folder(tmp_path, cluttered_dir):
    again = write_dataset(tmp_path / "again", n=4, scene="cluttered", width=W, height=H, seed=11)
    files = sorted(p.relative_to(cluttered_dir) for p in cluttered_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert len(files) == 4 * 4 + 3
    for rel in files:
        assert (cluttered_dir / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_pngs_reload_losslessly(object_dir):
    for i in (0, 3):
        frame = render_frame(i, "object", W, H, "generic", seed=11)
        depth = cv2.imread(str(object_dir / f"depth/{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16 and np.array_equal(depth, frame.measured)
        assert (depth == 0).any()
        clean = cv2.imread(str(object_dir / f"clean/{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert clean.dtype == np.uint16 and np.all(clean[frame.clean == 0] == 0)
        assert np.abs(clean[clean > 0] - frame.clean[clean > 0]).max() <= 0.5
        semantic = cv2.imread(str(object_dir / f"masks/semantic/{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        instance = cv2.imread(str(object_dir / f"masks/instance/{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(semantic, frame.semantic) and np.array_equal(instance, frame.instance)


def test_coco_annotations_match_the_masks(cluttered_dir):
    coco = json.loads((cluttered_dir / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == list(CLASS_NAMES)
    assert len(coco["images"]) == 4
    with open(cluttered_dir / "labels.csv", newline="") as fh:
        n_objects = {r["file"]: int(r["n_objects"]) for r in csv.DictReader(fh)}
    for image in coco["images"]:
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        name = Path(image["file_name"]).name
        instance = cv2.imread(str(cluttered_dir / "masks/instance" / name), cv2.IMREAD_UNCHANGED)
        semantic = cv2.imread(str(cluttered_dir / "masks/semantic" / name), cv2.IMREAD_UNCHANGED)
        assert len(anns) == len(np.unique(instance[instance > 0])) == n_objects[image["file_name"]]
        for k, ann in enumerate(anns, start=1):
            mask = instance == k
            assert ann["bbox"] == tight_box(mask) and ann["area"] == mask.sum() and ann["iscrowd"] == 0
            assert np.array_equal(rle_decode(ann["segmentation"]), mask)
            assert np.all(semantic[mask] == ann["category_id"])
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])


def test_object_labels_are_balanced_and_load(object_dir):
    depth, labels, names = load_labelled_frames(object_dir)
    assert depth.shape == (2 * len(CLASS_NAMES), H, W) and depth.dtype == np.float32
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [2] * len(CLASS_NAMES)
    assert names == list(CLASS_NAMES)
    semantic = cv2.imread(str(object_dir / "masks/semantic/000000.png"), cv2.IMREAD_UNCHANGED)
    assert np.mean(semantic == labels[0] + 1) >= 0.15  # label = the class covering >= 15 % of the frame
    clean, _, _ = load_labelled_frames(object_dir, clean=True)
    assert (clean > 0).sum() > (depth > 0).sum()


def test_segmentation_frames_load(cluttered_dir):
    depth, semantic, names = load_segmentation_frames(cluttered_dir)
    assert depth.shape == semantic.shape == (4, H, W)
    assert semantic.dtype == np.int64 and names[0] == "background" and semantic.max() < len(names)
    with pytest.raises(ValueError, match="scene='object'"):
        load_labelled_frames(cluttered_dir)


def test_ensure_dataset_writes_once(tmp_path, monkeypatch):
    first = ensure_dataset(tmp_path, n=3, scene="object", width=W, height=H, sensor="generic", seed=0)
    assert json.loads((first / "meta.json").read_text())["n"] == 3

    def fail(*args, **kwargs):
        raise AssertionError("the cached dataset was written again")

    monkeypatch.setattr(writer_module, "write_dataset", fail)
    assert ensure_dataset(tmp_path, n=3, scene="object", width=W, height=H, sensor="generic", seed=0) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary folder left behind


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="scene"):
        write_dataset(tmp_path / "a", n=2, scene="forest")
    with pytest.raises(ValueError, match="unknown ToF sensor"):
        write_dataset(tmp_path / "b", n=2, sensor="nope")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        write_dataset(tmp_path / "full", n=2, width=W, height=H)
    with pytest.raises(FileNotFoundError, match="not a synthetic ToF dataset"):
        load_segmentation_frames(tmp_path / "full")
