"""The modality registry: ``register_modality`` (a class decorator), ``get_modality``, ``list_modalities``.

Importing :mod:`domainssl.modalities` registers the built-in modalities (gray, rgb, tof, ct, mri);
a new one is a module with a ``@register_modality`` class.
"""

from __future__ import annotations

from typing import Any

from domainssl.modalities.base import Modality
from domainssl.options import build_options
from domainssl.registry import Registry

MODALITIES: Registry[type[Modality]] = Registry("modality")
register_modality = MODALITIES.register
get_modality_class = MODALITIES.get
list_modalities = MODALITIES.names


def get_modality(name: str, options: Any = None, **option_values: Any) -> Modality:
    """Build a modality by name, from an Options instance or from keyword option values."""
    cls = get_modality_class(name)
    if options is None:
        options = build_options(cls.Options, option_values, f"modality ({name})")
    return cls(options)
