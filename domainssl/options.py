"""Typed options from plain mappings: every key checked, every value coerced by its type hint.

Each modality, method and config section declares its keys as a dataclass; :func:`build_options`
turns a YAML mapping into an instance of it, raising :class:`~domainssl.errors.ConfigError` that
names ``section.key`` and what is allowed.

Examples:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Opts:
    ...     lr: float = 0.1
    >>> build_options(Opts, {"lr": 1}, "optim").lr
    1.0
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal

from domainssl.errors import ConfigError


def build_options(cls: type, raw: Any, section: str) -> Any:
    """Build dataclass ``cls`` from a dict, checking every key and coercing every value.

    Raises:
        ConfigError: naming ``section.key`` and the allowed keys or values.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"{section}: unknown key(s) {unknown}; allowed keys: {names}")
    values = {key: coerce(value, hints[key], f"{section}.{key}") for key, value in raw.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # an Options class's own __post_init__ check
        raise ConfigError(f"{section}: {exc}") from exc


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a type hint (int, float, bool, str, Literal, list[...], X | None)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {list(args)}")
        return value
    if origin is list:
        if isinstance(value, (str, int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)] if args else list(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value
