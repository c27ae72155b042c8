"""The synthetic ToF world as labelled train / val / test splits, rendered once from disjoint seeds."""

from __future__ import annotations

from pathlib import Path

from domainssl.data.labelled import SPLITS
from domainssl.data.synthetic.writer import ensure_dataset
from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality
from domainssl.paths import cache_dir

#: Synthetic splits are rendered from ``data.seed + SPLIT_SEEDS[split]``: disjoint from each other, from
#: the pretraining frames (seed = train.seed) and from the built-in kNN sets (seed + 1_000_003 / 2_000_003).
SPLIT_SEEDS = {"train": 7_000_001, "val": 7_000_002, "test": 7_000_003}


def synthetic_split_folders(modality: Modality, scene: str, sizes: dict[str, int], width: int, height: int,
                            seed: int) -> dict[str, Path]:
    """Render (once, cached) the synthetic ToF world's train / val / test splits from disjoint seeds.

    Raises:
        InvalidInputError: the modality has no synthetic labelled data (only ``tof`` has); pass --data.
    """
    if modality.name != "tof":
        raise InvalidInputError(
            f"modality {modality.name!r} has no synthetic labelled data; pass --data ROOT with train/ and test/ "
            "folders in the layout described at the top of the recipe"
        )
    return {
        split: ensure_dataset(cache_dir(), n=sizes[split], scene=scene, width=width, height=height,
                              sensor=modality.options.sensor, seed=seed + SPLIT_SEEDS[split])
        for split in SPLITS
        if sizes[split] > 0
    }
