"""Fine-tuning recipes: typed sections, YAML loading and ``--set`` overrides.

A recipe (``recipes/finetune/*.yaml``) has five sections::

    task:     {name: segmentation}                     # segmentation | detection | classification | volume_segmentation
    modality: {name: tof, channels: [depth]}           # how frames are read and normalised (an export's own
                                                       # pretraining options take precedence, see run.py)
    data:     {path: null, width: 128, height: 96, ...}  # null path = the modality's synthetic labelled data
    model:    {backbone: resnet18, ...}                # architecture for --weights none
    train:    {batch_size: 16, steps: 600, lr: 0.001, ...}

Every key is checked against the dataclasses below; an unknown key or a bad value raises
:class:`~domainssl.config.ConfigError` naming ``section.key`` and what is allowed.

Examples:
    >>> recipe = FinetuneRecipe.load("recipes/finetune/tof_segmentation.yaml", {"train.steps": 5})
    >>> recipe.task.name, recipe.train.steps
    ('segmentation', 5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from domainssl.config import NamedSection, SectionedConfig, read_yaml_mapping
from domainssl.errors import ConfigError

TaskName = Literal["segmentation", "detection", "classification", "volume_segmentation"]


@dataclass
class TaskSection:
    """What is learned and how it is scored."""

    name: TaskName = "segmentation"
    mode: Literal["finetune", "linear"] = "finetune"  # classification: train everything, or a frozen backbone + linear head


@dataclass
class DataSection:
    """Where the labelled frames come from. See each recipe's header for the folder layout."""

    path: str | None = None  # root with train/ [val/] test/ subfolders; None = the modality's synthetic data
    width: int = 128  # network input width, pixels (frames of another size are resized, nearest)
    height: int = 96  # network input height, pixels
    scene: Literal["cluttered", "object"] = "cluttered"  # synthetic ToF world: which scene family
    train_frames: int = 1000  # synthetic split sizes (frames, or volumes for volume tasks)
    val_frames: int = 200
    test_frames: int = 500
    seed: int = 0  # synthetic data seed; the splits use disjoint seeds derived from it
    patch_size: int = 64  # volume tasks: side of the training crops (3D) or slab crops (2.5D), voxels
    volume_size: int = 64  # volume tasks: side of the synthetic phantoms, voxels (before resampling)


@dataclass
class ModelSection:
    """The downstream network. With ``--weights EXPORT`` the backbone comes from the export."""

    backbone: str = "resnet18"  # timm name (2D) or MONAI 3D ResNet name (volume_mode 3d), used for --weights none
    decoder_channels: list[int] = field(default_factory=lambda: [256, 128, 64, 32, 16])  # UNet decoders
    fpn_channels: int = 128  # detection: FPN width
    box_score_thresh: float = 0.01  # detection: keep boxes above this score for mAP
    box_head_dim: int = 256  # detection: two-layer box head width (torchvision default 1024, sized for COCO)
    rois_per_image: int = 128  # detection: sampled RoIs per image for the box loss (torchvision default 512)


@dataclass
class TrainSection:
    """The fine-tuning loop. Budgets are in optimiser steps (``steps`` wins over ``epochs``)."""

    batch_size: int = 16
    steps: int | None = 600  # optimiser steps; None = use epochs
    epochs: int | None = None  # passes over the (label-fraction) training subset when steps is None
    lr: float = 1e-3  # AdamW peak learning rate (cosine decay after a linear warmup)
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    encoder_lr_scale: float = 1.0  # backbone lr = lr x this (0.1 is a common choice for pretrained encoders)
    hflip: bool = True  # random horizontal flips of image + target
    label_fraction: float = 1.0  # fraction of the labelled training split used (seeded, nested subsets)
    seed: int = 0  # label subset, batch order, flips and head initialisation
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 autocast is a large speed-up on recent CPUs and GPUs
    eval_batch_size: int = 32
    out: str = "runs/finetune"


@dataclass
class FinetuneRecipe(SectionedConfig):
    """A fully resolved fine-tuning recipe (written into ``OUT/metrics.json``)."""

    SECTIONS = {"task": TaskSection, "modality": NamedSection, "data": DataSection, "model": ModelSection,
                "train": TrainSection}
    KIND = "a fine-tuning recipe"

    task: TaskSection
    modality: NamedSection  # how frames are read and normalised; an export's own options take precedence
    data: DataSection
    model: ModelSection
    train: TrainSection
    source: str | None = None  # the YAML file it came from

    @classmethod
    def resolve(cls, recipe: dict[str, Any], overrides: dict[str, Any] | None = None, **extra: Any) -> FinetuneRecipe:
        """As :meth:`SectionedConfig.resolve`; ``task: NAME`` is short for ``task: {name: NAME}``, and a
        ``source`` key (what :meth:`to_dict` writes) is the recipe's origin, not a section."""
        recipe = dict(recipe)
        if isinstance(recipe.get("task"), str):
            recipe["task"] = {"name": recipe["task"]}
        extra.setdefault("source", recipe.pop("source", None))
        return super().resolve(recipe, overrides, **extra)

    @classmethod
    def load(cls, path: str | Path, overrides: dict[str, Any] | None = None, **extra: Any) -> FinetuneRecipe:
        """Read ``recipes/finetune/*.yaml`` (or any path) and resolve it; ``source`` records the path."""
        raw = read_yaml_mapping(path, hint="; the shipped recipes are in recipes/finetune/")
        return cls.resolve(raw, overrides, source=str(path), **extra)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "source": self.source}

    def __post_init__(self) -> None:
        t = self.train
        if not 0.0 < t.label_fraction <= 1.0:
            raise ConfigError(f"train.label_fraction: {t.label_fraction} must be in (0, 1]")
        if t.steps is None and t.epochs is None:
            raise ConfigError("train: set steps (optimiser steps) or epochs")
        for key in ("steps", "epochs", "batch_size", "eval_batch_size"):
            value = getattr(t, key)
            if value is not None and value < 1:
                raise ConfigError(f"train.{key}: must be >= 1, got {value}")
        if min(self.data.width, self.data.height) < 16:
            raise ConfigError(f"data.width/height: {self.data.width}x{self.data.height} is too small; use >= 16")
