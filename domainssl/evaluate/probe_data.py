"""Labelled frames for quick probes (``domainssl eval knn|linear``): a split root or one folder + a CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from domainssl.data.labelled import (
    Split,
    frame_files,
    load_split_folders,
    normalise_frames,
    read_frames_with_sizes,
    split_folders,
)
from domainssl.data.sampling import subset_indices
from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality


def load_probe_splits(data: str | Path, labels: str | Path | None, modality: Modality, width: int | None = None,
                      height: int | None = None, val_fraction: float = 0.3, seed: int = 0) -> tuple[Split, Split]:
    """Labelled (train, val) frames for quick probes (``domainssl eval knn|linear``).

    ``data`` is either a root with ``train/`` and ``test/`` split folders (each with ``labels.csv``), or
    one folder of frames whose labels come from ``labels`` (default ``data/labels.csv``; columns
    ``file,class_id[,class_name]``, files relative to ``data``), split per class into train and
    ``val_fraction`` val with ``seed``. Frames are resized (nearest) to ``width`` x ``height``
    (default: the first frame's size).

    Raises:
        InvalidInputError: missing folder, CSV or frames; a class with a single frame.
    """
    root = Path(data)
    if not root.is_dir():
        raise InvalidInputError(f"--data {root}: no such folder")
    split_layout = labels is None and (root / "train").is_dir() and (root / "test").is_dir()
    csv_path = None if split_layout else Path(labels) if labels is not None else root / "labels.csv"
    if csv_path is not None and not csv_path.is_file():
        raise InvalidInputError(f"{csv_path}: no labels file; pass --labels labels.csv (columns file,class_id,class_name) "
                                f"or use a root with train/ and test/ split folders")
    first_folder = root / "train" if split_layout else root
    first = frame_files(first_folder)[0] if split_layout else _csv_rows_at(csv_path)[0]["file"]
    h0, w0 = np.asarray(modality.read(first_folder / first)).shape[:2]
    width, height = width or w0, height or h0
    if split_layout:
        splits = load_split_folders(split_folders(root), "classification", modality, width, height, fit_stats=False)
        return splits["train"], splits["test"]
    rows = _csv_rows_at(csv_path)
    files = [row["file"] for row in rows]
    ids = np.array([int(row["class_id"]) for row in rows], np.int64)
    names = {int(r["class_id"]): r.get("class_name") or f"class_{r['class_id']}" for r in rows}
    classes = np.unique(ids)
    targets = np.searchsorted(classes, ids).astype(np.int64)
    counts = np.bincount(targets)
    if counts.min() < 2:
        raise InvalidInputError(f"{csv_path}: class {names[int(classes[counts.argmin()])]!r} has one frame; "
                                "each class needs at least two (one to train on, one to test)")
    frames = [f for f, _ in read_frames_with_sizes(root, files, modality, width, height)]
    split = Split(normalise_frames(frames, modality), targets, [names[int(c)] for c in classes], files)
    val = subset_indices(len(split), val_fraction, seed, labels=targets)
    train = np.setdiff1d(np.arange(len(split)), val)
    return split.subset(train), split.subset(val)


def _csv_rows_at(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "file" not in rows[0] or "class_id" not in rows[0]:
        raise InvalidInputError(f"{path}: expected a header file,class_id[,class_name] and at least one row")
    return rows
