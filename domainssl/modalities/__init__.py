"""Registry of modalities: ``get_modality("tof")``, ``list_modalities()``."""

from __future__ import annotations

from typing import Any

from domainssl.modalities.base import EvaluationSets, InvalidInputError, Modality, ViewFn

_REGISTRY: dict[str, type[Modality]] = {}


def register_modality(cls: type[Modality]) -> type[Modality]:
    """Class decorator that makes a modality available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def get_modality_class(name: str) -> type[Modality]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown modality {name!r}; registered: {list_modalities()}")
    return _REGISTRY[name]


def get_modality(name: str, options: Any = None, **option_values: Any) -> Modality:
    """Build a modality by name, from an Options instance or from keyword option values."""
    from domainssl.config import build_options

    cls = get_modality_class(name)
    if options is None:
        options = build_options(cls.Options, option_values, f"modality ({name})")
    return cls(options)


def list_modalities() -> list[str]:
    return sorted(_REGISTRY)


from domainssl.modalities import image  # noqa: E402,F401  (registers gray, rgb)

__all__ = [
    "EvaluationSets",
    "InvalidInputError",
    "Modality",
    "ViewFn",
    "get_modality",
    "get_modality_class",
    "list_modalities",
    "register_modality",
]
from domainssl.modalities import tof  # noqa: E402,F401
from domainssl.modalities import volume  # noqa: E402,F401
