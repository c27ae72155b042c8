"""domainssl: self-supervised pretraining for ToF depth, CT/MRI and other special imagery.

Examples:
    >>> import domainssl
    >>> result = domainssl.pretrain(modality__name="tof", train__steps=100)
    >>> backbone = domainssl.load_backbone(result.export_dir)
"""

from domainssl.api import make_config, pretrain, preview
from domainssl.methods import list_methods
from domainssl.modalities import get_modality, list_modalities
from domainssl.models import create_backbone
from domainssl.version import __version__


def export_run(*args, **kwargs):
    """Export a run directory's backbone; see :func:`domainssl.export.export_run`."""
    from domainssl.export import export_run as _export_run

    return _export_run(*args, **kwargs)


def load_backbone(*args, **kwargs):
    """Load an exported backbone strictly; see :func:`domainssl.export.load_backbone`."""
    from domainssl.export import load_backbone as _load_backbone

    return _load_backbone(*args, **kwargs)


__all__ = [
    "__version__",
    "create_backbone",
    "export_run",
    "get_modality",
    "list_methods",
    "list_modalities",
    "load_backbone",
    "make_config",
    "preview",
    "pretrain",
]
