"""The SSL method registry: ``register_method`` (a class decorator), ``get_method_class``, ``list_methods``.

Importing :mod:`domainssl.methods` registers the built-in methods (byol, moco, simclr, simsiam).
"""

from __future__ import annotations

from domainssl.methods.base import SSLMethod

_REGISTRY: dict[str, type[SSLMethod]] = {}


def register_method(cls: type[SSLMethod]) -> type[SSLMethod]:
    """Class decorator that makes a method available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def get_method_class(name: str) -> type[SSLMethod]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown method {name!r}; registered: {list_methods()}")
    return _REGISTRY[name]


def list_methods() -> list[str]:
    return sorted(_REGISTRY)
