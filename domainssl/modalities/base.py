"""The modality contract: how one kind of imagery is read, validated, normalised and viewed.

A modality turns a file into a raw array *losslessly* (uint16 stays uint16), says which pixels the
sensor marked invalid, normalises to float32 channels-first, and builds the per-method view
function the data pipeline calls. Adding a modality = one new file with a registered subclass.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from domainssl.errors import InvalidInputError

#: ``views(sample, rng) -> [view_1, ..., view_k]``; each view float32, shape (C, H, W) or (C, D, H, W).
ViewFn = Callable[[Any, np.random.Generator], list[np.ndarray]]


class Modality(ABC):
    """Base class of every modality; subclasses register with :func:`register_modality`.

    Attributes:
        name: registry name (``--modality NAME``).
        spatial_dims: 2 for images, 3 for volumes fed to a 3D backbone.
        extensions: lower-case file suffixes that :meth:`discover` collects.
        Options: dataclass of the ``modality.*`` keys this modality accepts.
        options: the validated options instance.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    spatial_dims: ClassVar[int] = 2
    extensions: ClassVar[tuple[str, ...]] = ()
    samples_per_file: ClassVar[int] = 1  # view pairs drawn per file per epoch (volumes: many crops per load)
    Options: ClassVar[type]

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()

    @property
    @abstractmethod
    def in_chans(self) -> int:
        """Number of channels the backbone receives."""

    @abstractmethod
    def read(self, path: str | Path) -> Any:
        """Read one file losslessly. Raises :class:`InvalidInputError` naming the file."""

    @abstractmethod
    def validity(self, array: np.ndarray) -> np.ndarray:
        """Boolean mask, True where the pixel holds a valid measurement."""

    @abstractmethod
    def normalise(self, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Float32 channels-first network input (C, H, W) from a raw array and its validity mask."""

    @abstractmethod
    def views(self, method: str, image_size: int, num_views: int) -> ViewFn:
        """The view function for ``method``: ``fn(sample, rng) -> list of num_views float32 arrays``."""

    @abstractmethod
    def fit_stats(self, samples: Sequence[Any]) -> None:
        """Compute per-channel mean/std of the normalised input from a few read samples; store in options."""

    @property
    def stats(self) -> dict[str, list[float]]:
        """Per-channel ``mean`` and ``std`` of the network input (length ``in_chans``), for exports."""
        mean, std = getattr(self.options, "mean", None), getattr(self.options, "std", None)
        if mean is None or std is None:
            raise RuntimeError(f"modality {self.name!r}: statistics not fitted yet; call fit_stats() first")
        return {"mean": list(mean), "std": list(std)}

    def discover(self, paths: Sequence[str | Path]) -> list[Path]:
        """Expand files and folders (recursively) into a sorted list of readable files.

        Raises:
            InvalidInputError: a path does not exist, or nothing with a known suffix was found.
        """
        found: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_file():
                found.append(path)
            elif path.is_dir():
                found.extend(self.folder_items(path))
            else:
                raise InvalidInputError(f"{path}: no such file or folder; check --data")
        if not found:
            raise InvalidInputError(
                f"no {self.name} files ({', '.join(self.extensions)}) found in {[str(p) for p in paths]}"
            )
        return found

    def folder_items(self, folder: Path) -> list[Path]:
        """The training items inside ``folder``, recursively: by default its files with a known suffix."""
        return [p for p in sorted(folder.rglob("*")) if p.is_file() and self.accepts(p)]

    def accepts(self, path: Path) -> bool:
        """True if ``path`` has one of this modality's suffixes (``.nii.gz`` counts as one suffix)."""
        name = path.name.lower()
        return any(name.endswith(ext) for ext in self.extensions)

    def display(self, sample: Any) -> list[tuple[str, np.ndarray]]:
        """Panels ``(title, image HxW float)`` that show a source sample to a person (preview grids).

        Default: each channel of the normalised sample; 3D inputs show the three orthogonal mid-slices.
        """
        image = self.normalise(sample, self.validity(sample))
        panels = []
        for c, channel in enumerate(image):
            if channel.ndim == 3:
                d, h, w = (s // 2 for s in channel.shape)
                panels += [(f"ch{c} axial", channel[d]), (f"ch{c} coronal", channel[:, h]), (f"ch{c} sagittal", channel[:, :, w])]
            else:
                panels.append((f"channel {c}", channel))
        return panels

    def resolved_options(self) -> dict[str, Any]:
        """Options as a plain dict (what the resolved config stores)."""
        return dataclasses.asdict(self.options)
