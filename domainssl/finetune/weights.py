"""Load an exported backbone into a network that was already built (strictly, every tensor).

Building the whole downstream network first and loading the export last keeps the random draws of
the head/decoder initialisation identical for ``--weights EXPORT`` and ``--weights none`` (paired runs).
"""

from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from domainssl.export import ExportSpec, load_backbone


def load_export_into(module: nn.Module, weights: Path | ExportSpec, in_chans: int, features_only: bool = False) -> None:
    """Copy the export's weights into ``module`` with ``strict=True``.

    Args:
        module: a timm model (pooled features) or a timm ``features_only`` model (smp's ``encoder.model``,
            a detection body) of the export's architecture.
        weights: export folder, or its spec (:meth:`ExportSpec.read`, not read again).
        in_chans: input channels of ``module`` (the export's stem is adapted 1 -> N / N -> 1 if needed).
        features_only: ``module`` is a feature pyramid; the export is rebuilt with its ``out_indices``.

    Raises:
        ValueError: the export does not fit ``module`` (another architecture or stage selection).
    """
    kwargs = {"features_only": True, "out_indices": tuple(module.feature_info.out_indices)} if features_only else {}
    export = ExportSpec.of(weights)
    source = load_backbone(export, in_chans=in_chans, **kwargs)
    try:
        module.load_state_dict(source.state_dict(), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{export.folder}: exported weights do not fit the {type(module).__name__} being fine-tuned: {exc}") from exc
