"""Labelled 2D splits on disk: the folder layout, reading a split into memory, train / val / test.

A split folder (``DATA/train``, ``DATA/val``, ``DATA/test``) holds::

    depth/000000.png            frames the modality reads (ToF: 16-bit PNG, uint16 mm, 0 = invalid)
    masks/semantic/000000.png   segmentation: 8-bit class id per pixel, 0 = background
    annotations.json            detection: COCO (images[].file_name, annotations[].bbox [x, y, w, h],
                                category_id >= 1, iscrowd; categories[] with id and name)
    labels.csv                  classification: file,class_id,class_name (file relative to the split folder)

That is what :func:`domainssl.data.synthetic.write_dataset` writes, so the synthetic ToF world
serves as labelled data out of the box (:mod:`domainssl.data.synthetic.splits`). A split is loaded
into memory, resized (nearest) to ``width`` x ``height`` and normalised by the modality.

Examples:
    >>> split = load_split(folder, "segmentation", modality, width=64, height=48)
    >>> split.images.shape, split.targets.dtype
    ((16, 1, 48, 64), dtype('int64'))
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality

SPLITS = ("train", "val", "test")

@dataclass
class Split:
    """One labelled split in memory.

    Attributes:
        images: float32 (N, C, H, W), normalised network input (volume tasks: a list of (1, X, Y, Z)).
        targets: segmentation int64 (N, H, W) class ids; classification int64 (N,) in 0..K-1;
            detection a list of N dicts with ``boxes`` float32 (M, 4) xyxy pixels and ``labels`` int64 (M,) >= 1;
            volume tasks a list of dicts with ``label`` int64 (X, Y, Z) and the unpadded ``shape``.
        class_names: segmentation/detection: K + 1 names starting with ``background``; classification: K names.
        files: the frame files, in order.
    """

    images: np.ndarray
    targets: Any
    class_names: list[str]
    files: list[str]

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices: np.ndarray) -> "Split":
        def pick(values: Any) -> Any:
            return [values[i] for i in indices] if isinstance(values, list) else values[indices]

        return Split(pick(self.images), pick(self.targets), self.class_names, [self.files[i] for i in indices])

def split_folders(path: str | Path) -> dict[str, Path | None]:
    """``{"train": ..., "val": ... or None, "test": ...}`` under a user's data root.

    Raises:
        InvalidInputError: the root or its train/test subfolders are missing.
    """
    root = Path(path)
    if not root.is_dir():
        raise InvalidInputError(f"--data {root}: no such folder")
    folders = {split: root / split if (root / split).is_dir() else None for split in SPLITS}
    missing = [s for s in ("train", "test") if folders[s] is None]
    if missing:
        raise InvalidInputError(
            f"--data {root}: missing subfolder(s) {missing}; expected {root}/train, {root}/test (and optionally "
            f"{root}/val), each in the layout described at the top of the recipe"
        )
    return folders

def frame_files(folder: Path) -> list[str]:
    """Frame files of a split, relative to it: annotations.json / labels.csv order, else sorted ``depth/*``."""
    if (folder / "annotations.json").is_file():
        return [img["file_name"] for img in _coco(folder)["images"]]
    if (folder / "labels.csv").is_file() and "class_id" in _csv_rows(folder)[0]:
        return [row["file"] for row in _csv_rows(folder)]
    files = sorted(p for p in (folder / "depth").glob("*") if p.is_file()) if (folder / "depth").is_dir() else []
    if not files:
        raise InvalidInputError(f"{folder}: no frames (expected depth/*.png, annotations.json or labels.csv)")
    return [str(p.relative_to(folder)) for p in files]

def normalise_frames(frames: list[np.ndarray], modality: Modality) -> np.ndarray:
    """Stack of normalised frames, float32 (N, C, H, W)."""
    return np.stack([modality.normalise(f, modality.validity(f)) for f in frames]).astype(np.float32)

def load_targets(folder: Path, files: list[str], task: str, width: int, height: int,
                 sizes: list[tuple[int, int]]) -> tuple[Any, list[str]]:
    """Targets of ``files`` for ``task`` and the class names (see :class:`Split`).

    Args:
        sizes: (height, width) of each original frame, to rescale boxes and masks.
    """
    if task == "segmentation":
        masks = []
        for name in files:
            path = folder / "masks" / "semantic" / Path(name).name
            mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if mask is None or mask.ndim != 2:
                raise InvalidInputError(f"{path}: missing or not a one-channel class-id PNG (0 = background)")
            masks.append(cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST).astype(np.int64))
        targets = np.stack(masks)  # N x H x W
        names = _coco_names(folder) if (folder / "annotations.json").is_file() else None
        if names is None:
            names = ["background"] + [f"class_{k}" for k in range(1, int(targets.max()) + 1)]
        if targets.max() >= len(names):
            raise InvalidInputError(f"{folder}/masks/semantic: class id {int(targets.max())} has no category in annotations.json")
        return targets, names
    if task == "detection":
        coco = _coco(folder)
        by_image: dict[int, list[dict]] = {}
        for ann in coco["annotations"]:
            if not ann.get("iscrowd", 0):
                by_image.setdefault(ann["image_id"], []).append(ann)
        targets = []
        for img, (h0, w0) in zip(coco["images"], sizes):
            anns = by_image.get(img["id"], [])
            xywh = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
            scale = np.array([width / w0, height / h0, width / w0, height / h0], np.float32)
            boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) * scale  # M x 4 xyxy
            keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            labels = np.array([a["category_id"] for a in anns], np.int64)
            targets.append({"boxes": boxes[keep], "labels": labels[keep]})
        return targets, _coco_names(folder)
    if task == "classification":
        rows = _csv_rows(folder)
        if "class_id" not in rows[0]:
            raise InvalidInputError(f"{folder}/labels.csv: needs columns file,class_id,class_name")
        by_file = {row["file"]: row for row in rows}
        ids = np.array([int(by_file[f]["class_id"]) for f in files], np.int64)
        names = {int(r["class_id"]): r.get("class_name") or f"class_{r['class_id']}" for r in rows}
        return ids, [names[k] for k in sorted(names)]
    raise ValueError(f"task {task!r} has no 2D targets")

def load_split(folder: Path, task: str, modality: Modality, width: int, height: int,
               fit_stats: bool = False) -> Split:
    """Read one split folder into memory; with ``fit_stats`` the modality's mean/std are fitted on it first."""
    folder = Path(folder)
    files = frame_files(folder)
    raw = read_frames_with_sizes(folder, files, modality, width, height)
    frames, sizes = [f for f, _ in raw], [s for _, s in raw]
    if fit_stats:
        modality.fit_stats(frames)
    targets, names = load_targets(folder, files, task, width, height, sizes)
    return Split(normalise_frames(frames, modality), targets, names, files)

def read_frames_with_sizes(folder: Path, files: list[str], modality: Modality, width: int,
                           height: int) -> list[tuple[np.ndarray, tuple[int, int]]]:
    """``(resized raw frame, original (H, W))`` for each file."""
    out = []
    for name in files:
        raw = modality.read(folder / name)
        out.append((_resize(raw, width, height), tuple(np.asarray(raw).shape[:2])))
    return out


def load_split_folders(folders: dict[str, Path | None], task: str, modality: Modality, width: int, height: int,
                       fit_stats: bool) -> dict[str, Split | None]:
    """Read each split folder (None = absent); with ``fit_stats`` the statistics are fitted on train.

    Classification ids are mapped to 0..K-1 by the train split's sorted class ids.

    Raises:
        InvalidInputError: a val / test class id that the train split does not have.
    """
    splits: dict[str, Split | None] = {}
    for name in SPLITS:
        folder = folders.get(name)
        splits[name] = None if folder is None else load_split(
            folder, task, modality, width, height, fit_stats=fit_stats and name == "train")
    if task == "classification":
        train = splits["train"]
        classes = np.unique(train.targets)
        for name, split in splits.items():
            if split is None:
                continue
            unseen = sorted(set(split.targets.tolist()) - set(classes.tolist()))
            if unseen:
                raise InvalidInputError(f"{folders[name]}/labels.csv: class id(s) {unseen} do not occur in the train split")
            split.targets = np.searchsorted(classes, split.targets).astype(np.int64)
        for split in splits.values():
            if split is not None:
                split.class_names = list(train.class_names)  # names of the sorted train ids
    return splits


def _resize(raw: np.ndarray, width: int, height: int) -> np.ndarray:
    raw = np.asarray(raw)
    if raw.shape[:2] == (height, width):
        return raw
    return cv2.resize(raw, (width, height), interpolation=cv2.INTER_NEAREST)

def _coco(folder: Path) -> dict:
    path = folder / "annotations.json"
    if not path.is_file():
        raise InvalidInputError(f"{path}: missing; detection needs COCO annotations (images, annotations, categories)")
    try:
        coco = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid JSON ({exc})") from exc
    for key in ("images", "annotations", "categories"):
        if key not in coco:
            raise InvalidInputError(f"{path}: no {key!r} list; expected COCO format")
    return coco

def _coco_names(folder: Path) -> list[str]:
    """``["background", name of id 1, ...]``; category ids must be 1..K."""
    categories = sorted(_coco(folder)["categories"], key=lambda c: c["id"])
    ids = [c["id"] for c in categories]
    if ids != list(range(1, len(ids) + 1)):
        raise InvalidInputError(f"{folder}/annotations.json: category ids {ids} must be 1..K (0 is background)")
    return ["background", *[c["name"] for c in categories]]

def _csv_rows(folder: Path) -> list[dict[str, str]]:
    path = folder / "labels.csv"
    if not path.is_file():
        raise InvalidInputError(f"{path}: missing; classification needs labels.csv with file,class_id,class_name")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InvalidInputError(f"{path}: has no rows")
    return rows
