"""Multi-view dataset and a resumable batch sampler.

Every sample's random draw is seeded by ``(seed, global_batch, position)``, so the views a step
sees depend only on the seed and the step: identical across worker counts and across a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from domainssl.errors import InvalidInputError
from domainssl.modalities.base import Modality, ViewFn

#: One request to the dataset: (item index, global batch index, position in the batch).
Request = tuple[int, int, int]


@dataclass
class BadFile:
    """Placeholder returned for a file that could not be used; the loop counts these."""

    path: str
    reason: str


class MultiViewDataset(Dataset):
    """Reads a file through its modality and returns ``num_views`` augmented views.

    Item ``i`` maps to file ``i // modality.samples_per_file``, so volumes yield many crops per load.

    Args:
        files: readable files (or DICOM series folders).
        modality: reads and normalises each file.
        view_fn: ``modality.views(...)``; returns float32 arrays (C, H, W) or (C, D, H, W).
        seed: base seed of every draw.
    """

    def __init__(self, files: Sequence[Path], modality: Modality, view_fn: ViewFn, seed: int) -> None:
        self.files = list(files)
        self.modality = modality
        self.view_fn = view_fn
        self.seed = seed

    def __len__(self) -> int:
        return len(self.files) * self.modality.samples_per_file

    def __getitem__(self, request: Request) -> list[torch.Tensor] | BadFile:
        index, batch, position = request
        path = self.files[index // self.modality.samples_per_file]
        rng = np.random.default_rng([self.seed, batch, position])
        try:
            sample = self.modality.read(path)
        except InvalidInputError as exc:
            return BadFile(str(path), str(exc))
        return [torch.from_numpy(np.ascontiguousarray(v)) for v in self.view_fn(sample, rng)]


def collate_views(items: list[list[torch.Tensor] | BadFile]) -> tuple[list[torch.Tensor], list[BadFile]]:
    """Stack good items view-wise (each view N x C x ...) and pass bad files through for counting."""
    good = [item for item in items if not isinstance(item, BadFile)]
    bad = [item for item in items if isinstance(item, BadFile)]
    if not good:
        return [], bad
    return [torch.stack(views) for views in zip(*good)], bad


class ResumableBatchSampler(Sampler[list[Request]]):
    """Yields ``total_batches - start_batch`` batches of requests over reshuffled epochs.

    Epoch ``e`` is the permutation ``default_rng([seed, e])``; incomplete final batches are dropped.
    Starting at ``start_batch`` reproduces exactly the batches an uninterrupted run would see.
    """

    def __init__(self, num_items: int, batch_size: int, total_batches: int, seed: int, start_batch: int = 0):
        if num_items < batch_size:
            raise ValueError(
                f"the dataset has {num_items} samples, fewer than one batch of {batch_size}; "
                "add data or lower --batch-size"
            )
        self.num_items = num_items
        self.batch_size = batch_size
        self.total_batches = total_batches
        self.seed = seed
        self.start_batch = start_batch
        self.batches_per_epoch = num_items // batch_size

    def __len__(self) -> int:
        return max(0, self.total_batches - self.start_batch)

    def __iter__(self) -> Iterator[list[Request]]:
        epoch, order = -1, np.empty(0, dtype=np.int64)
        for batch in range(self.start_batch, self.total_batches):
            if batch // self.batches_per_epoch != epoch:
                epoch = batch // self.batches_per_epoch
                order = np.random.default_rng([self.seed, epoch]).permutation(self.num_items)
            first = (batch % self.batches_per_epoch) * self.batch_size
            chunk = order[first : first + self.batch_size]
            yield [(int(index), batch, position) for position, index in enumerate(chunk)]
