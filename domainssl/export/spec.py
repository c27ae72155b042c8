"""``ExportSpec``: what an exported backbone is, and the one place that reads and writes its ``config.json``.

An export folder holds ``config.json`` + ``model.safetensors`` + ``README.md``. Two ``config.json``
layouts share one spec: timm's local-dir layout (``architecture``, ``num_classes``, ``num_features``,
``model_args``, ``pretrained_cfg``) and the MONAI layout (``library: monai``, ``constructor``,
``constructor_kwargs``, ``in_chans``, ``input_size``, ``mean``, ``std``). Both carry a top-level
``domainssl`` record: provenance, ``version``, ``format``, ``spatial_dims`` and ``metrics``.

Read an export once per command and pass the spec on::

    spec = ExportSpec.read("runs/tof/export")   # validated; errors name the file
    model = load_backbone(spec, in_chans=3)      # no second read of config.json
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, get_args

import torch
import torch.nn as nn
from safetensors.torch import save_file

from domainssl.export.model_card import monai_card, timm_card
from domainssl.version import __version__

ExportFormat = Literal["timm", "monai", "detectron2"]
FORMATS = get_args(ExportFormat)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

#: Module of the MONAI ResNet factories a MONAI export's ``constructor`` names.
MONAI_NETS = "monai.networks.nets"

#: ``pretrained_cfg`` keys the spec writes from its own fields; every other key is an ``arch_cfg`` entry.
_PRETRAINED_CFG_FIELDS = ("architecture", "input_size", "mean", "std", "num_classes", "license")
#: ``domainssl`` record keys the spec writes from its own fields; every other key is provenance.
_RECORD_FIELDS = ("format", "spatial_dims", "metrics")


@dataclass(frozen=True)
class ExportSpec:
    """Everything an export records besides its weights: architecture, input, statistics, provenance.

    Writers (:func:`~domainssl.export.export_backbone`, :func:`~domainssl.export.export_monai`,
    :func:`~domainssl.export.export_detectron2`) take a spec and fill in what they read off the
    backbone (``format``, ``num_features``, ``arch_cfg``, MONAI's ``model_args``); consumers read one
    with :meth:`read` and pass it on.

    Attributes:
        architecture: timm model name (2D) or MONAI ResNet factory name (3D), e.g. ``resnet18``.
        in_chans: input channels of the stem.
        input_size: ``(C, H, W)`` or ``(C, D, H, W)`` the backbone was trained on; ``C == in_chans``.
        mean, std: per-channel statistics of the network input (length ``in_chans``), the modality's.
        provenance: ``method`` and ``modality`` (required to write), and anything JSON-serialisable:
            ``modality_options``, ``data``, ``steps``, ``seed``, ``version`` (default: the installed one), ...
        spatial_dims: 2 (timm, detectron2) or 3 (MONAI). Exports written before it was recorded are
            read as 3 for ``library: monai`` and 2 otherwise.
        format: ``timm``, ``monai`` or ``detectron2``; the writer sets it.
        metrics: final monitored values (``{"loss": 0.12}``); non-finite values are written as null.
        model_args: the constructor's keyword arguments: ``timm.create_model``'s (``in_chans`` is added
            on writing) or the MONAI factory's (with ``n_input_channels``, as ``constructor_kwargs``).
        license: licence identifier for the card's metadata.
        num_features: pooled feature size; the writer reads it off the backbone.
        arch_cfg: architecture fields: for timm the registry's ``first_conv``, ``classifier``,
            ``interpolation``, ... and ``crop_pct`` (the writer fills them); for MONAI ``first_conv``.
        folder: the export folder the spec was read from; None for a spec not read from disk.

    Raises:
        ValueError: on construction, when input_size, mean, std, in_chans and spatial_dims disagree.

    Examples:
        >>> spec = ExportSpec(architecture="resnet18", in_chans=1, input_size=(1, 64, 64), mean=[0.5], std=[0.25],
        ...                   provenance={"method": "byol", "modality": "tof"})
        >>> export_backbone(net, "export", spec)                      # timm local-dir folder
        >>> ExportSpec.read("export").spatial_dims
        2
    """

    architecture: str
    in_chans: int
    input_size: Sequence[int]
    mean: Sequence[float]
    std: Sequence[float]
    provenance: Mapping[str, Any]
    spatial_dims: int = 2
    format: ExportFormat = "timm"
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    model_args: Mapping[str, Any] = field(default_factory=dict)
    license: str = "other"
    num_features: int = 0
    arch_cfg: Mapping[str, Any] = field(default_factory=dict)
    folder: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__  # frozen: normalise once, here
        setattr_(self, "input_size", tuple(int(v) for v in self.input_size))
        setattr_(self, "mean", tuple(float(m) for m in self.mean))
        setattr_(self, "std", tuple(float(s) for s in self.std))
        for name in ("provenance", "metrics", "model_args", "arch_cfg"):
            setattr_(self, name, dict(getattr(self, name)))
        if self.format not in FORMATS:
            raise ValueError(f"format {self.format!r}: expected one of {list(FORMATS)}")
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        if len(self.input_size) != 1 + self.spatial_dims:
            raise ValueError(f"input_size {list(self.input_size)}: expected (C, {', '.join('DHW'[-self.spatial_dims:])})")
        if not (self.input_size[0] == len(self.mean) == len(self.std) == self.in_chans):
            raise ValueError(
                f"channel counts disagree: in_chans={self.in_chans}, input_size[0]={self.input_size[0]}, "
                f"len(mean)={len(self.mean)}, len(std)={len(self.std)}; pass the modality's per-channel statistics"
            )
        if any(not s > 0 for s in self.std):
            raise ValueError(f"std {list(self.std)}: every channel's std must be > 0")
        key = "n_input_channels" if self.format == "monai" else "in_chans"
        if self.model_args.get(key, self.in_chans) != self.in_chans:
            raise ValueError(f"model_args {key}={self.model_args[key]} but in_chans={self.in_chans}")

    @classmethod
    def read(cls, folder: str | Path) -> ExportSpec:
        """Read and validate ``folder/config.json`` (with ``model.safetensors`` next to it).

        Raises:
            FileNotFoundError: config.json or model.safetensors is missing.
            ValueError: config.json is not JSON, lacks a key, or holds inconsistent values (the message
                names the file and the key).
        """
        folder = Path(folder)
        cfg_file = folder / CONFIG_NAME
        if not cfg_file.is_file():
            raise FileNotFoundError(f"{cfg_file}: no such file; point at a folder written by `domainssl export`")
        if not (folder / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"{folder / WEIGHTS_NAME}: no such file; the export is incomplete, re-run `domainssl export`")
        try:
            config = json.loads(cfg_file.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{cfg_file}: not valid JSON ({exc}); re-run `domainssl export`") from exc
        try:
            return cls._from_config(config, folder)
        except KeyError as exc:
            raise ValueError(f"{cfg_file}: no {exc.args[0]!r} key; not a domainssl/timm export") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{cfg_file}: {exc}") from exc

    @classmethod
    def of(cls, source: str | Path | ExportSpec) -> ExportSpec:
        """``source`` itself if it is a spec already, else :meth:`read` of the folder ``source``."""
        return source if isinstance(source, ExportSpec) else cls.read(source)

    @classmethod
    def _from_config(cls, config: Any, folder: Path) -> ExportSpec:
        """The spec of a parsed ``config.json`` (KeyError names a missing key by its dotted path)."""
        architecture = _key(config, "architecture")
        record = config.get("domainssl") or {}
        monai = config.get("library") == "monai"
        if monai:
            constructor = _key(config, "constructor")
            if constructor != f"{MONAI_NETS}.{architecture}":
                raise ValueError(f"constructor {constructor!r} does not build architecture {architecture!r}")
            fields = dict(
                in_chans=_key(config, "in_chans"), input_size=_key(config, "input_size"),
                mean=_key(config, "mean"), std=_key(config, "std"),
                model_args=_key(config, "constructor_kwargs"), license=config.get("license", "other"),
                arch_cfg={"first_conv": config["first_conv"]} if "first_conv" in config else {},
            )
        else:
            pretrained_cfg = _key(config, "pretrained_cfg")
            input_size = _key(config, "pretrained_cfg", "input_size")
            model_args = config.get("model_args") or {}
            fields = dict(
                in_chans=model_args.get("in_chans", input_size[0]), input_size=input_size,
                mean=_key(config, "pretrained_cfg", "mean"), std=_key(config, "pretrained_cfg", "std"),
                model_args=model_args, license=pretrained_cfg.get("license", "other"),
                arch_cfg={k: v for k, v in pretrained_cfg.items() if k not in _PRETRAINED_CFG_FIELDS},
            )
        return cls(
            architecture=architecture,
            provenance={k: v for k, v in record.items() if k not in _RECORD_FIELDS},
            spatial_dims=record.get("spatial_dims", 3 if monai else 2),  # not recorded before: MONAI exports are 3D
            format=record.get("format", "monai" if monai else "timm"),
            metrics=record.get("metrics") or {},
            num_features=config.get("num_features", 0),
            folder=folder,
            **fields,
        )

    @property
    def weights_file(self) -> Path:
        """``folder/model.safetensors``.

        Raises:
            ValueError: the spec was not read from a folder.
        """
        if self.folder is None:
            raise ValueError(f"this {self.architecture} spec was not read from an export folder; it has no weights")
        return self.folder / WEIGHTS_NAME

    def pretrained_cfg(self) -> dict[str, Any]:
        """timm's ``pretrained_cfg`` of this export: ``arch_cfg`` + the modality's input size and statistics."""
        return {
            **self.arch_cfg,
            "architecture": self.architecture,
            "input_size": list(self.input_size),
            "mean": list(self.mean),
            "std": list(self.std),
            "num_classes": 0,
            "license": self.license,
        }

    def record(self) -> dict[str, Any]:
        """The top-level ``domainssl`` record: provenance, version, format, spatial_dims, metrics.

        Raises:
            ValueError: provenance lacks ``method`` or ``modality``.
        """
        missing = [k for k in ("method", "modality") if k not in self.provenance]
        if missing:
            raise ValueError(f"provenance lacks {missing}; an export must name the SSL method and the modality")
        record = dict(self.provenance)
        record.setdefault("version", __version__)
        record.update(format=self.format, spatial_dims=self.spatial_dims, metrics={
            k: float(v) if v is not None and math.isfinite(float(v)) else None for k, v in self.metrics.items()
        })
        return record

    def to_config(self) -> dict[str, Any]:
        """The ``config.json`` mapping, in the timm or the MONAI layout (by ``format``).

        Raises:
            ValueError: a detectron2 spec (that export has no config.json), or provenance without
                ``method`` and ``modality``.
        """
        if self.format == "timm":
            return {
                "architecture": self.architecture,
                "num_classes": 0,
                "num_features": self.num_features,
                "model_args": {**self.model_args, "in_chans": self.in_chans},
                "pretrained_cfg": self.pretrained_cfg(),
                "domainssl": self.record(),
            }
        if self.format == "monai":
            return {
                "library": "monai",
                "architecture": self.architecture,
                "constructor": f"{MONAI_NETS}.{self.architecture}",
                "constructor_kwargs": dict(self.model_args),
                "num_features": self.num_features,
                "in_chans": self.in_chans,
                "input_size": list(self.input_size),
                "mean": list(self.mean),
                "std": list(self.std),
                **self.arch_cfg,
                "license": self.license,
                "domainssl": self.record(),
            }
        raise ValueError(f"a {self.format} export has no config.json")

    def write(self, out_dir: Path, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Write ``model.safetensors``, ``config.json`` and the ``README.md`` model card into ``out_dir``.

        Nothing is written when :meth:`to_config` raises.
        """
        config = self.to_config()
        out_dir.mkdir(parents=True, exist_ok=True)
        save_file(dict(state_dict), str(out_dir / WEIGHTS_NAME), metadata={"format": "pt"})
        (out_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2, allow_nan=False) + "\n")
        card = monai_card if self.format == "monai" else timm_card
        (out_dir / CARD_NAME).write_text(card(config, out_dir))



def plain_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies of every tensor (channels_last or GPU weights become plain NCHW)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def _key(config: Any, *path: str) -> Any:
    """``config[path[0]][path[1]]...``; a missing key raises KeyError with its dotted path."""
    value = config
    for depth, key in enumerate(path):
        if not isinstance(value, Mapping) or key not in value:
            raise KeyError(".".join(path[: depth + 1]))
        value = value[key]
    return value
