"""Preview grids: source frames next to the views exactly as the SSL method receives them.

One row per source sample: the modality's :meth:`~domainssl.modalities.base.Modality.display`
panels (for ToF: colour-mapped depth with holes in black, and the validity mask), then each view's
channel 0 — plus its validity channel when the modality feeds one — after normalisation. Volumes
(views of shape (C, D, H, W)) show the middle axial slice. Views of one row share colour limits so
their contrast can be compared; every panel has a colour bar.

Examples:
    >>> import tempfile
    >>> from domainssl.modalities import get_modality
    >>> tof = get_modality("tof")
    >>> frame = np.full((48, 64), 2000.0, np.float32)
    >>> path = write_preview(tof, [frame], tof.views("byol", 32, 2), 2, Path(tempfile.mkdtemp()) / "v.png",
    ...                      np.random.default_rng(0))
    >>> path.suffix
    '.png'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from domainssl.modalities.base import Modality, ViewFn  # noqa: E402

_PANEL_INCHES = 2.2


def _plane(array: np.ndarray) -> np.ndarray:
    """A 2D image from a panel or a view channel: the middle slice of a 3D array."""
    array = np.asarray(array, np.float32)
    return array[array.shape[0] // 2] if array.ndim == 3 else array


def _view_channels(modality: Modality) -> list[tuple[int, str]]:
    """(index, title) of the view channels to show: channel 0, plus the validity channel if fed."""
    names = list(getattr(modality.options, "channels", []) or [])
    shown = [(0, names[0] if names else "ch0")]
    if "valid" in names and names.index("valid") != 0:
        shown.append((names.index("valid"), "valid"))
    return shown


def _limits(images: Sequence[np.ndarray]) -> tuple[float, float]:
    values = np.concatenate([im[np.isfinite(im)].ravel() for im in images] or [np.zeros(1)])
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [1, 99])
    return float(lo), float(hi if hi > lo else lo + 1e-6)


def _show(fig: Any, ax: Any, image: np.ndarray, title: str, cmap: str, limits: tuple[float, float] | None) -> None:
    colours = plt.get_cmap(cmap).with_extremes(bad="black")
    vmin, vmax = limits if limits is not None else _limits([image])
    handle = ax.imshow(image, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(handle, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=6)


def write_preview(
    modality: Modality,
    samples: list,
    view_fn: ViewFn,
    num_views: int,
    out: Path,
    rng: np.random.Generator,
    n_sources: int = 4,
) -> Path:
    """Write a PNG grid of source samples and their views.

    Args:
        modality: the modality that read ``samples`` (its ``display`` draws the source panels).
        samples: read samples (``modality.read(path)`` outputs); the first ``n_sources`` are shown.
        view_fn: ``modality.views(method, image_size, num_views)``.
        num_views: views drawn per sample (the method's ``num_views``).
        out: PNG path; parent folders are created.
        rng: the random source of the view draws.
        n_sources: rows in the grid.

    Returns:
        ``out``.
    """
    if not samples:
        raise ValueError("write_preview needs at least one sample; check --data")
    rows = samples[:n_sources]
    shown = _view_channels(modality)
    panels = [modality.display(sample) for sample in rows]
    views = [view_fn(sample, rng)[:num_views] for sample in rows]
    n_cols = max(len(p) for p in panels) + num_views * len(shown)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(_PANEL_INCHES * n_cols, _PANEL_INCHES * len(rows)),
                             squeeze=False)
    for r, (row_panels, row_views) in enumerate(zip(panels, views)):
        col = 0
        for title, image in row_panels:
            is_mask = title.startswith("valid")
            _show(fig, axes[r, col], _plane(image), title, "gray" if is_mask else "turbo", (0.0, 1.0) if is_mask else None)
            col += 1
        for ax in axes[r, col : max(len(p) for p in panels)]:
            ax.axis("off")
        col = max(len(p) for p in panels)
        limits = {index: _limits([_plane(view[index]) for view in row_views]) for index, _ in shown}
        for v, view in enumerate(row_views):
            for index, name in shown:
                is_mask = name == "valid"
                _show(fig, axes[r, col], _plane(view[index]), f"view {v + 1}: {name}",
                      "gray" if is_mask else "turbo", limits[index])
                col += 1
    fig.suptitle(f"{modality.name}: source (left) and views as the method receives them (normalised)", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
