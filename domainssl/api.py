"""Public functions behind ``import domainssl`` and the CLI."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import numpy as np

from domainssl.config import RunConfig

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def default_recipe(modality: str | None) -> Path | None:
    """The shipped ``recipes/pretrain/<modality>.yaml`` when it exists (tof, ...), else None (built-in defaults)."""
    path = RECIPES / "pretrain" / f"{modality or 'tof'}.yaml"
    return path if path.is_file() else None


def make_config(recipe: str | Path | dict | RunConfig | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A resolved config from a recipe path, a nested dict or a RunConfig, plus dotted overrides.

    Examples:
        >>> cfg = make_config(overrides={"modality.name": "gray", "train.steps": 10})
    """
    if recipe is None:
        recipe = default_recipe((overrides or {}).get("modality.name"))
    if isinstance(recipe, RunConfig):
        recipe = recipe.to_dict()
    if recipe is None or isinstance(recipe, dict):
        return RunConfig.resolve(recipe or {}, overrides)
    return RunConfig.load(recipe, overrides)


def pretrain(config: RunConfig | str | Path | dict | None = None, *, resume: bool = False,
             progress: bool = True, **overrides: Any):
    """Pretrain a backbone and write the run directory; returns a :class:`~domainssl.train.loop.RunResult`.

    Keyword overrides use ``__`` for the dot: ``pretrain(modality__name="gray", train__steps=10)``.

    Examples:
        >>> result = domainssl.pretrain("recipes/pretrain/tof.yaml", train__steps=100, train__out="runs/tof")
        >>> result.export_dir
        PosixPath('runs/tof/export')
    """
    from domainssl.train.loop import pretrain as fit

    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    if not isinstance(config, RunConfig) or dotted:
        config = make_config(config, dotted)
    return fit(config, resume=resume, progress=progress)


def preview(config: RunConfig, out: Path, n_sources: int = 4) -> Path:
    """Write a PNG grid of source samples and the views ``config``'s method would receive."""
    from domainssl.data.pipeline import fit_stats, resolve_files
    from domainssl.methods import get_method_class
    from domainssl.modalities import get_modality
    from domainssl.preview import write_preview

    modality = get_modality(config.modality.name, config.modality.options)
    files = resolve_files(config, modality)
    if modality.options.mean is None:
        fit_stats(modality, files, config.data.stats_samples)
    picks = np.random.default_rng(config.train.seed).choice(len(files), size=min(n_sources, len(files)), replace=False)
    samples = [modality.read(files[i]) for i in sorted(picks)]
    num_views = get_method_class(config.method.name).num_views
    view_fn = modality.views(config.method.name, config.data.image_size, num_views)
    return write_preview(modality, samples, view_fn, num_views, Path(out),
                         np.random.default_rng(config.train.seed), n_sources=len(samples))


def environment_info() -> list[str]:
    """Lines describing versions, the compute device and the registries (``domainssl info``)."""
    import monai
    import timm
    import torch

    from domainssl.device import resolve_device, resolve_precision
    from domainssl.methods import get_method_class, list_methods
    from domainssl.modalities import get_modality_class, list_modalities
    from domainssl.version import __version__

    device = resolve_device("auto")
    if device.type == "cuda":
        device_text = f"cuda ({torch.cuda.get_device_name(0)})"
    else:
        device_text = f"cpu ({torch.get_num_threads()} threads)"
    lines = [
        f"domainssl {__version__}",
        f"python {platform.python_version()}, torch {torch.__version__}, timm {timm.__version__}, monai {monai.__version__}",
        f"device: {device_text}; default precision: {resolve_precision('auto', device)}",
        "modalities:",
    ]
    for name in list_modalities():
        cls = get_modality_class(name)
        lines.append(f"  {name:<8} {cls.description}")
    lines.append("methods:")
    for name in list_methods():
        lines.append(f"  {name:<8} {get_method_class(name).description}")
    return lines
