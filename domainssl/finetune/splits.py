"""The labelled splits of a fine-tuning recipe: the user's ``data.path`` root, or the synthetic ToF world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domainssl.data.labelled import Split, load_split_folders, split_folders
from domainssl.data.synthetic.splits import synthetic_split_folders
from domainssl.modalities.base import Modality


def load_splits_2d(data_cfg: Any, task: str, modality: Modality, fit_stats: bool) -> dict[str, Split | None]:
    """Train / val / test splits of a 2D task, from ``data_cfg.path`` or the synthetic ToF world.

    ``data_cfg`` is a fine-tuning recipe's ``data`` section (path, width, height, scene, split sizes, seed).
    """
    if data_cfg.path:
        folders: dict[str, Path | None] = split_folders(data_cfg.path)
    else:
        sizes = {"train": data_cfg.train_frames, "val": data_cfg.val_frames, "test": data_cfg.test_frames}
        folders = dict(synthetic_split_folders(modality, data_cfg.scene, sizes, data_cfg.width, data_cfg.height,
                                               data_cfg.seed))
    return load_split_folders(folders, task, modality, data_cfg.width, data_cfg.height, fit_stats)
