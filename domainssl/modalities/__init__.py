"""Modalities: how each kind of imagery is read, validated, normalised and viewed.

``get_modality("tof")``, ``list_modalities()``; importing this package registers the built-in ones.
"""

from domainssl.errors import InvalidInputError
from domainssl.modalities import image, tof, volume  # noqa: F401  (register gray, rgb, tof, ct, mri)
from domainssl.modalities.base import Modality, ViewFn
from domainssl.modalities.registry import get_modality, get_modality_class, list_modalities, register_modality

__all__ = [
    "InvalidInputError",
    "Modality",
    "ViewFn",
    "get_modality",
    "get_modality_class",
    "list_modalities",
    "register_modality",
]
