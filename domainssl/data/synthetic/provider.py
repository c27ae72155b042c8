"""Synthetic data for a modality, looked up by its name: the data side's answer to "no --data given".

Modalities know how to read and view files, not how to make them; this module turns a modality into
generated files (:func:`synthetic_files`) and, where the world is labelled, into the clean labelled
frames of the built-in kNN check (:func:`evaluation_sets`). A new synthetic world registers one
function in :data:`FILE_PROVIDERS` (and optionally :data:`EVALUATION_PROVIDERS`).

Examples:
    >>> from domainssl.modalities import get_modality
    >>> files = synthetic_files(get_modality("tof"), Path("/tmp/cache"), n=16, image_size=32, seed=0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from domainssl.data.synthetic.writer import ensure_dataset, load_labelled_frames
from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality

SYNTHETIC_WIDTH_FACTOR = 2  # synthetic ToF frames are 2 x image_size wide, 4:3
EVAL_SEED_OFFSETS = {"train": 1_000_003, "val": 2_000_003}  # the kNN splits never share a seed with training


@dataclass
class EvaluationSets:
    """Labelled, *clean* frames for a built-in evaluation (kNN before/after pretraining).

    Arrays are normalised float32, shape (N, C, H, W) (or (N, C, D, H, W)); labels int64 (N,).
    """

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    class_names: list[str]


def synthetic_files(modality: Modality, cache_dir: Path, n: int, image_size: int, seed: int) -> list[Path]:
    """Generate (once, cached under ``cache_dir``) an unlabelled training set for ``modality``.

    Raises:
        InvalidInputError: the modality has no synthetic world; the message says to pass ``--data``.
    """
    provider = FILE_PROVIDERS.get(modality.name)
    if provider is None:
        raise InvalidInputError(f"modality {modality.name!r} has no synthetic data; pass --data PATH")
    return provider(modality, Path(cache_dir), n, image_size, seed)


def evaluation_sets(modality: Modality, cache_dir: Path, image_size: int, seed: int,
                    frames: tuple[int, int]) -> EvaluationSets | None:
    """Clean labelled ``(train, val)`` frames for the kNN check, or None when the modality has none."""
    provider = EVALUATION_PROVIDERS.get(modality.name)
    return None if provider is None else provider(modality, Path(cache_dir), image_size, seed, frames)


# ---------------------------------------------------------------------------------------- ToF world


def _tof_size(image_size: int) -> tuple[int, int]:
    width = SYNTHETIC_WIDTH_FACTOR * image_size
    return width, (width * 3) // 4


def tof_files(modality: Modality, cache_dir: Path, n: int, image_size: int, seed: int) -> list[Path]:
    """Unlabelled frames of the synthetic ToF world (cluttered rooms), 16-bit PNG in mm."""
    width, height = _tof_size(image_size)
    folder = ensure_dataset(cache_dir, n=n, scene="cluttered", width=width, height=height,
                            sensor=modality.options.sensor, seed=seed)
    return sorted((folder / "depth").glob("*.png"))


def tof_evaluation_sets(modality: Modality, cache_dir: Path, image_size: int, seed: int,
                        frames: tuple[int, int]) -> EvaluationSets:
    """Object-centric measured frames (no view augmentation), resized (nearest) and normalised like the input.

    Train and val are rendered from different seeds, ``frames`` = (train, val) counts.
    """
    width, height = _tof_size(image_size)
    arrays = {}
    for split, count in zip(("train", "val"), frames):
        folder = ensure_dataset(cache_dir, n=count, scene="object", width=width, height=height,
                                sensor=modality.options.sensor, seed=seed + EVAL_SEED_OFFSETS[split])
        depth, labels, class_names = load_labelled_frames(folder)
        small = [cv2.resize(np.asarray(d, np.float32), (image_size, image_size), interpolation=cv2.INTER_NEAREST)
                 for d in depth]
        arrays[split] = (np.stack([modality.normalise(s, modality.validity(s)) for s in small]), labels)
    return EvaluationSets(arrays["train"][0], arrays["train"][1], arrays["val"][0], arrays["val"][1],
                          list(class_names))


# ---------------------------------------------------------------------------------------- volume phantoms


def volume_files(modality: Modality, cache_dir: Path, n: int, image_size: int, seed: int) -> list[Path]:
    """Labelled CT / MRI phantoms (:mod:`domainssl.data.synthetic.volumes`) with ``labels.csv``.

    ``n`` counts training samples: ``ceil(n / samples_per_file)`` volumes (at least 2) of side
    ``max(32, 1.25 * image_size)`` voxels at the default spacing.
    """
    from domainssl.data.synthetic.volumes import write_synthetic_volumes

    count = max(2, math.ceil(n / modality.samples_per_file))
    side = max(32, round(1.25 * image_size))
    folder = cache_dir / f"{modality.name}-synthetic-{count}x{side}-seed{seed}"
    return write_synthetic_volumes(modality.name, folder, count, (side, side, side), seed)


FILE_PROVIDERS: dict[str, Callable[..., list[Path]]] = {"tof": tof_files, "ct": volume_files, "mri": volume_files}
EVALUATION_PROVIDERS: dict[str, Callable[..., EvaluationSets]] = {"tof": tof_evaluation_sets}
