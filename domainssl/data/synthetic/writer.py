"""Write synthetic ToF datasets to disk (COCO + PNG masks), cache them, and load them back.

Folder layout written by :func:`write_dataset`::

    depth/000000.png             measured depth, 16-bit PNG, uint16 mm, 0 = invalid
    clean/000000.png             ideal depth (exact ray-cast Z within the sensor's range), uint16 mm, 0 = none
    masks/semantic/000000.png    8-bit class id per pixel (0 = floor/wall/nothing, i = CLASS_NAMES[i - 1])
    masks/instance/000000.png    8-bit instance id per pixel (0 = background, 1..M)
    annotations.json             COCO: images, annotations (bbox [x, y, w, h], area, uncompressed RLE), categories
    labels.csv                   object scenes: file,class_id,class_name; cluttered: file,n_objects
    meta.json                    sensor, size, seed, scene, n, generator version, intrinsics

The same arguments always give a byte-identical folder (deterministic PNG encoding, sorted JSON,
no timestamps).

Examples:
    >>> import tempfile
    >>> out = write_dataset(Path(tempfile.mkdtemp()) / "tof", n=5, scene="object", width=64, height=48)
    >>> depth, labels, names = load_labelled_frames(out)
    >>> depth.shape, labels.dtype, len(names)
    ((5, 48, 64), dtype('int64'), 5)
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from domainssl.data.synthetic.scene import CLASS_NAMES
from domainssl.data.synthetic.tof_world import GENERATOR_VERSION, SCENES, Frame, camera_for, render_frame

_PROGRESS_MIN_FRAMES = 200


def write_dataset(out: Path, n: int, scene: str = "cluttered", width: int = 320, height: int = 240,
                  sensor: str = "generic", seed: int = 0) -> Path:
    """Render ``n`` frames of the ``scene`` family and write them (layout in the module docstring).

    Args:
        out: target folder; created if missing, must be empty if it exists.
        n: number of frames (>= 1).
        scene: ``"cluttered"`` or ``"object"``.
        width, height: frame size, pixels (each >= 16).
        sensor: sensor profile name (see :mod:`domainssl.physics.tof_sensors`).
        seed: dataset seed; frame i is rendered from ``default_rng([seed, i])``.

    Returns:
        ``out``.

    Raises:
        ValueError: a bad argument (the message says which and what is allowed).
        FileExistsError: ``out`` exists and is not empty.
    """
    out = Path(out)
    _check_args(n, scene, width, height, sensor)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not an empty folder; choose a new --out or delete it")
    profile, intr = camera_for(sensor, width, height)
    for sub in ("depth", "clean", "masks/semantic", "masks/instance"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    images, annotations, rows = [], [], []
    frames = tqdm(range(n), desc=f"synth tof {scene}", unit="frame", disable=n <= _PROGRESS_MIN_FRAMES)
    for i in frames:
        frame = render_frame(i, scene, width, height, profile, seed)
        name = f"{i:06d}.png"
        ideal = np.where((frame.clean >= intr.min_range_mm) & (frame.clean <= intr.max_range_mm), frame.clean, 0)
        _imwrite(out / "depth" / name, frame.measured)
        _imwrite(out / "clean" / name, np.rint(ideal).astype(np.uint16))
        _imwrite(out / "masks/semantic" / name, frame.semantic)
        _imwrite(out / "masks/instance" / name, frame.instance)
        images.append({"id": i + 1, "file_name": f"depth/{name}", "width": width, "height": height})
        annotations += _coco_annotations(frame, image_id=i + 1, first_id=len(annotations) + 1)
        rows.append([f"depth/{name}", frame.label, CLASS_NAMES[frame.label - 1]] if scene == "object"
                    else [f"depth/{name}", len(frame.classes)])
    categories = [{"id": k + 1, "name": c, "supercategory": "solid"} for k, c in enumerate(CLASS_NAMES)]
    _write_json(out / "annotations.json", {"images": images, "annotations": annotations, "categories": categories})
    with open(out / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "class_id", "class_name"] if scene == "object" else ["file", "n_objects"])
        writer.writerows(rows)
    _write_json(out / "meta.json", {
        "generator": "domainssl.data.synthetic.tof_world", "generator_version": GENERATOR_VERSION,
        "scene": scene, "n": n, "width": width, "height": height, "sensor": profile.name, "seed": seed,
        "classes": list(CLASS_NAMES), "depth_units": "mm (uint16), 0 = invalid",
        "intrinsics": {"fx": intr.fx, "fy": intr.fy, "cx": intr.cx, "cy": intr.cy,
                       "min_range_mm": intr.min_range_mm, "max_range_mm": intr.max_range_mm},
    })
    return out


def ensure_dataset(cache_dir: Path, n: int, scene: str, width: int, height: int, sensor: str, seed: int) -> Path:
    """The dataset folder for these arguments under ``cache_dir``, written once and reused afterwards.

    The folder is written to a temporary sibling and renamed into place, so a folder that exists
    is complete; when two processes race, the first rename wins and the other's copy is removed.
    """
    _check_args(n, scene, width, height, sensor)
    cache_dir = Path(cache_dir)
    final = cache_dir / f"tof_{scene}_{width}x{height}_{sensor}_n{n}_seed{seed}_v{GENERATOR_VERSION}"
    if final.is_dir():
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    try:
        write_dataset(tmp, n, scene, width, height, sensor, seed)
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_labelled_frames(folder: Path, clean: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Depth frames and their class labels from an ``object`` dataset.

    Args:
        folder: a folder written by :func:`write_dataset` with ``scene="object"``.
        clean: read the ideal depth (``clean/``) instead of the measured frames (``depth/``).

    Returns:
        depth: float32 (N, H, W) mm, 0 = invalid; labels: int64 (N,) in 0..K-1;
        class_names: K names, ``class_names[label]`` (label = class_id - 1 of labels.csv).
    """
    folder = Path(folder)
    if _read_meta(folder)["scene"] != "object":
        raise ValueError(f"{folder}: holds a cluttered-scene dataset; frame labels need one written with "
                         f"scene='object' (domainssl synth tof --scene object)")
    with open(folder / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    depth = _read_depths(folder, [r["file"] for r in rows], clean)
    labels = np.array([int(r["class_id"]) - 1 for r in rows], dtype=np.int64)
    return depth, labels, list(CLASS_NAMES)


def load_segmentation_frames(folder: Path, clean: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Depth frames and per-pixel class masks from a dataset of either scene family.

    Returns:
        depth: float32 (N, H, W) mm, 0 = invalid; semantic: int64 (N, H, W) in 0..K;
        class_names: K + 1 names starting with ``"background"``, ``class_names[semantic]``.
    """
    folder = Path(folder)
    n = _read_meta(folder)["n"]
    files = [f"depth/{i:06d}.png" for i in range(n)]
    depth = _read_depths(folder, files, clean)
    semantic = np.stack([_imread(folder / "masks/semantic" / Path(f).name, np.uint8) for f in files])
    return depth, semantic.astype(np.int64), ["background", *CLASS_NAMES]


def rle_encode(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE of a boolean (H, W) mask: column-major run lengths, starting with zeros."""
    flat = np.asarray(mask, bool).ravel(order="F")
    bounds = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def _coco_annotations(frame: Frame, image_id: int, first_id: int) -> list[dict]:
    areas = np.bincount(frame.instance.ravel(), minlength=len(frame.classes) + 1)
    return [
        {"id": first_id + k, "image_id": image_id, "category_id": int(frame.classes[k]),
         "bbox": [int(v) for v in frame.boxes[k]], "area": int(areas[k + 1]), "iscrowd": 0,
         "segmentation": rle_encode(frame.instance == k + 1)}
        for k in range(len(frame.classes))
    ]


def _check_args(n: int, scene: str, width: int, height: int, sensor: str) -> None:
    if scene not in SCENES:
        raise ValueError(f"scene {scene!r} is not known; choose one of {list(SCENES)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of frames, got {n!r}")
    if min(width, height) < 16:
        raise ValueError(f"frame size {width}x{height} is too small; use at least 16x16 pixels")
    try:
        camera_for(sensor, width, height)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def _read_meta(folder: Path) -> dict:
    path = folder / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; {folder} is not a synthetic ToF dataset "
                                f"(write one with domainssl synth tof --out {folder})")
    return json.loads(path.read_text())


def _read_depths(folder: Path, files: list[str], clean: bool) -> np.ndarray:
    paths = [folder / ("clean" if clean else "depth") / Path(f).name for f in files]
    return np.stack([_imread(p, np.uint16) for p in paths]).astype(np.float32)


def _imread(path: Path, dtype: type) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FileNotFoundError(f"{path}: cannot be read; the dataset folder is incomplete, write it again")
    if image.dtype != dtype or image.ndim != 2:
        raise ValueError(f"{path}: expected a one-channel {np.dtype(dtype).name} PNG, got {image.dtype} "
                         f"{image.shape}; the dataset folder was not written by write_dataset")
    return image


def _imwrite(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: could not write the PNG; check the folder is writable")


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
