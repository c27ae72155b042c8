"""Run configuration: typed sections, YAML recipes, ``--set`` overrides and validation.

A run is described by one nested mapping with six sections::

    modality: {name: tof, sensor: azure_kinect_nfov, ...}   # options of that modality
    method:   {name: byol, tau_base: 0.996, ...}            # options of that method
    data:     {paths: [...], image_size: 64, ...}
    model:    {backbone: resnet18}
    optim:    {name: adamw, lr: null, ...}
    train:    {batch_size: 64, steps: null, ...}

``modality`` and ``method`` are validated against the ``Options`` dataclass that the chosen
modality / method declares, so each one owns its keys. Every unknown key or bad value raises
:class:`ConfigError` naming the key and what is allowed.

Examples:
    >>> cfg = RunConfig.resolve({}, overrides={"method.name": "simsiam"})
    >>> cfg.method.name
    'simsiam'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal

import yaml

from domainssl.errors import ConfigError
from domainssl.options import build_options


@dataclass
class DataConfig:
    """Where the images come from and how they are batched."""

    paths: list[str] = field(default_factory=list)  # files or folders; empty = the modality's synthetic data
    image_size: int = 64  # side of the square views, pixels (2D) or voxels (3D)
    num_workers: int = 2
    max_bad_fraction: float = 0.01  # stop when more than this fraction of files cannot be read
    stats_samples: int = 64  # files sampled to compute the normalisation statistics
    synthetic_frames: int = 2048  # size of the generated dataset when no paths are given


@dataclass
class ModelConfig:
    """Which backbone to train."""

    backbone: str = "resnet18"  # any timm model name (2D), or a MONAI 3D ResNet name in 3D mode


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule (cosine with linear warmup)."""

    name: Literal["auto", "sgd", "adamw", "lars"] = "auto"  # auto = the method's default
    lr: float | None = None  # None = the method's base lr scaled by batch_size / 256
    weight_decay: float | None = None  # None = the method's default
    momentum: float = 0.9  # SGD / LARS momentum
    warmup_fraction: float = 0.05  # fraction of the total steps spent in linear warmup
    min_lr_ratio: float = 0.0  # final lr as a fraction of the peak lr


@dataclass
class TrainConfig:
    """The loop: budget, device, precision, logging and checkpoints."""

    batch_size: int = 64
    epochs: int = 10
    steps: int | None = None  # caps optimiser steps; overrides epochs
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool = True  # 2D models only
    log_every: int | None = None  # None = every step when steps <= 50, else every 10 steps
    checkpoint_every: int = 500  # steps between periodic checkpoints (the last one is always written)
    collapse_threshold: float = 0.1  # warn when std(z/|z|) * sqrt(d) stays below this
    out: str = "runs/latest"
    evaluate: bool = True  # after training, kNN on the modality's synthetic labelled split (runs without data.paths)
    eval_frames: list[int] = field(default_factory=lambda: [1000, 500])  # (train, val) frames of that kNN check
    eval_readout: Literal["last", "last2"] = "last2"  # features it reads: last two stages pooled, or the output

    def __post_init__(self) -> None:
        if len(self.eval_frames) != 2 or min(self.eval_frames) < 1:
            raise ConfigError(f"train.eval_frames: {self.eval_frames} must be [train, val] frame counts, each >= 1")


@dataclass
class NamedSection:
    """A ``modality`` or ``method`` section: a registered name plus that entry's typed options."""

    name: str
    options: Any  # the entry's Options dataclass instance

    def __getattr__(self, key: str) -> Any:
        if key in ("name", "options"):
            raise AttributeError(key)
        return getattr(self.options, key)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **dataclasses.asdict(self.options)}


class SectionedConfig:
    """Base of the typed configs (pretraining runs, fine-tuning recipes): a mapping of sections.

    ``SECTIONS`` maps each section to its dataclass, or to :class:`NamedSection` for a section that
    names a registered modality or method and takes that entry's ``Options``. ``DEFAULTS`` is the
    nested recipe every input is merged onto.
    """

    SECTIONS: ClassVar[dict[str, type]] = {}
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    KIND: ClassVar[str] = "a config"  # for messages: "unknown section(s) ...; KIND has ..."

    @classmethod
    def resolve(cls, recipe: dict[str, Any], overrides: dict[str, Any] | None = None, **extra: Any):
        """Validate a nested recipe (merged onto ``DEFAULTS``) plus dotted overrides into an instance.

        Raises:
            ConfigError: an unknown section or key, a bad value, or an unregistered name.
        """
        data = apply_overrides(merge(cls.DEFAULTS, recipe), overrides or {})
        unknown = sorted(set(data) - set(cls.SECTIONS))
        if unknown:
            raise ConfigError(f"unknown section(s) {unknown}; {cls.KIND} has {list(cls.SECTIONS)}")
        sections = {name: _named_section(data.get(name), name) if kind is NamedSection
                    else build_options(kind, data.get(name, {}), name) for name, kind in cls.SECTIONS.items()}
        return cls(**sections, **extra)

    @classmethod
    def load(cls, path: str | Path, overrides: dict[str, Any] | None = None, **extra: Any):
        """Read a YAML recipe and resolve it (see :meth:`resolve`)."""
        return cls.resolve(read_yaml_mapping(path), overrides, **extra)

    def to_dict(self) -> dict[str, Any]:
        """The nested recipe that resolves to this config again."""
        return {name: getattr(self, name).to_dict() if kind is NamedSection else dataclasses.asdict(getattr(self, name))
                for name, kind in self.SECTIONS.items()}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


@dataclass
class RunConfig(SectionedConfig):
    """A fully resolved pretraining run configuration (what ``RUN/config.yaml`` holds)."""

    SECTIONS = {"modality": NamedSection, "method": NamedSection, "data": DataConfig, "model": ModelConfig,
                "optim": OptimConfig, "train": TrainConfig}
    DEFAULTS = {"modality": {"name": "tof"}, "method": {"name": "byol"}}
    KIND = "a pretraining recipe"

    modality: NamedSection
    method: NamedSection
    data: DataConfig
    model: ModelConfig
    optim: OptimConfig
    train: TrainConfig


def read_yaml_mapping(path: str | Path, hint: str = "") -> dict[str, Any]:
    """A YAML file whose top level is a mapping; ConfigError (naming the file) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe {path}: no such file{hint}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"recipe {path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"recipe {path}: expected a mapping of sections at the top level")
    return data


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``base``; a changed modality/method name drops old options."""
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            if key in ("modality", "method") and "name" in value and value["name"] != old.get("name"):
                out[key] = dict(value)
            else:
                out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def parse_set(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings (``method.temperature=0.2``) into dotted-key overrides.

    Values are read as YAML scalars/lists, so ``0.2`` is a float and ``[depth,valid]`` a list.
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set method.temperature=0.2")
        try:
            overrides[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: value is not valid YAML ({exc})") from exc
    return overrides


def apply_overrides(recipe: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply dotted-key overrides (``{"train.steps": 5}``) to a nested recipe dict."""
    out = recipe
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if len(parts) < 2:
            raise ConfigError(f"{dotted!r}: expected SECTION.KEY, e.g. train.steps")
        nested: Any = value
        for part in reversed(parts):
            nested = {part: nested}
        out = merge(out, nested)
    return out


def _named_section(raw: Any, section: str) -> NamedSection:
    """A modality / method section: its ``name`` must be registered, the other keys are that entry's Options."""
    lookup, allowed = _registry(section)
    if not isinstance(raw, dict) or "name" not in raw:
        raise ConfigError(f"{section}: needs a name, one of {allowed}")
    name = raw["name"]
    if name not in allowed:
        raise ConfigError(f"{section}.name: {name!r} is not registered; allowed: {allowed}")
    options_cls = lookup(name).Options
    options = build_options(options_cls, {k: v for k, v in raw.items() if k != "name"}, f"{section}")
    return NamedSection(name=name, options=options)


def _registry(section: str) -> tuple[Callable[[str], type], list[str]]:
    """``(lookup, registered names)`` of the modality or method registry (imported on first use)."""
    if section == "modality":
        from domainssl.modalities import get_modality_class, list_modalities

        return get_modality_class, list_modalities()
    from domainssl.methods import get_method_class, list_methods

    return get_method_class, list_methods()
