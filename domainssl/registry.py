"""A name → class registry, filled by a class decorator (the modalities and the SSL methods each keep one).

Examples:
    >>> shapes = Registry("shape")
    >>> @shapes.register
    ... class Disc:
    ...     name = "disc"
    >>> shapes.get("disc") is Disc, shapes.names()
    (True, ['disc'])
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes by their ``name`` attribute; ``kind`` names them in errors ("unknown modality ...")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, T] = {}

    def register(self, cls: T) -> T:
        """Class decorator that makes ``cls`` available by its ``name``."""
        self._classes[cls.name] = cls
        return cls

    def get(self, name: str) -> T:
        """The class registered as ``name``; KeyError listing the registered names otherwise."""
        if name not in self._classes:
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {self.names()}")
        return self._classes[name]

    def names(self) -> list[str]:
        return sorted(self._classes)
