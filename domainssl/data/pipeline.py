"""From a run config to files, fitted statistics and a resumable multi-view DataLoader."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader

from domainssl.config import RunConfig
from domainssl.data.datasets import MultiViewDataset, ResumableBatchSampler, collate_views
from domainssl.data.synthetic.provider import synthetic_files
from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality
from domainssl.paths import cache_dir


def resolve_files(config: RunConfig, modality: Modality) -> list[Path]:
    """The files given by ``data.paths``, or the modality's synthetic data when there are none."""
    if config.data.paths:
        return modality.discover(config.data.paths)
    return synthetic_files(
        modality, cache_dir(), n=config.data.synthetic_frames, image_size=config.data.image_size, seed=config.train.seed
    )


def fit_stats(modality: Modality, files: list[Path], max_files: int) -> dict[str, str]:
    """Fit the modality's mean/std on up to ``max_files`` evenly spaced files.

    Returns:
        The unreadable files among those sampled, ``{path: reason}``.
    """
    picks = np.unique(np.linspace(0, len(files) - 1, num=min(max_files, len(files))).astype(int))
    samples, bad = [], {}
    for index in picks:
        try:
            samples.append(modality.read(files[index]))
        except InvalidInputError as exc:
            bad[str(files[index])] = str(exc)
    if not samples:
        raise InvalidInputError("no readable file among those sampled for statistics:\n  " + "\n  ".join(bad.values()))
    modality.fit_stats(samples)
    return bad


def _init_worker(worker_id: int) -> None:
    torch.set_num_threads(1)
    cv2.setNumThreads(0)


def build_loader(
    config: RunConfig,
    modality: Modality,
    files: list[Path],
    num_views: int,
    total_steps: int,
    start_step: int = 0,
) -> DataLoader:
    """A DataLoader yielding ``(views, bad_files)`` for steps ``start_step+1 .. total_steps``."""
    view_fn = modality.views(config.method.name, config.data.image_size, num_views)
    dataset = MultiViewDataset(files, modality, view_fn, seed=config.train.seed)
    sampler = ResumableBatchSampler(
        len(dataset), config.train.batch_size, total_steps, seed=config.train.seed, start_batch=start_step
    )
    workers = config.data.num_workers
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate_views,
        worker_init_fn=_init_worker if workers else None,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if workers else None,
    )


def steps_per_epoch(config: RunConfig, modality: Modality, num_files: int) -> int:
    return max(1, num_files * modality.samples_per_file // config.train.batch_size)
