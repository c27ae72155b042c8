"""Click commands ``domainssl finetune`` and ``domainssl eval knn|linear`` (added to the main group in domainssl/cli.py).

They parse and validate flags, call :func:`~domainssl.finetune.run.finetune` /
:func:`~domainssl.evaluate.probe.probe_backbone`, and turn input errors into ``click.ClickException``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from domainssl.config import parse_set
from domainssl.errors import ConfigError, InvalidInputError


def _user_errors(func):
    """Recipe, data and export errors become clean CLI errors (exit code 1, no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ConfigError, InvalidInputError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.command(
    "finetune",
    epilog="""\b
Examples:
  domainssl finetune recipes/finetune/tof_segmentation.yaml --weights runs/tof/export --out runs/ft-seg
  domainssl finetune recipes/finetune/tof_segmentation.yaml --weights none --out runs/ft-seg-scratch
  domainssl finetune recipes/finetune/tof_detection.yaml --weights runs/tof/export --label-fraction 0.1 --seed 3
  domainssl finetune recipes/finetune/tof_classification.yaml --weights runs/tof/export --set task.mode=linear
  domainssl finetune recipes/finetune/tof_segmentation.yaml --weights runs/tof/export --data my_frames/ \\
      --set data.width=320 --set data.height=240 --steps 3000
  domainssl finetune recipes/finetune/volume_segmentation_3d.yaml --weights runs/ct3d/export --data ct_labelled/
""",
)
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--weights", default="none", show_default=True, metavar="EXPORT_DIR|none",
              help="Exported backbone folder (domainssl export), or 'none' for random init.")
@click.option("--data", type=click.Path(file_okay=False), help="Dataset root with train/ [val/] test/; default: the recipe's (synthetic).")
@click.option("--label-fraction", type=float, help="Fraction of the labelled training split to use, in (0, 1].")
@click.option("--steps", type=int, help="Optimizer steps (overrides --epochs).")
@click.option("--epochs", type=int, help="Passes over the labelled training subset.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder for metrics.json and model.pt.")
@click.option("--seed", type=int, help="Seeds the label subset, batch order, head init and the draws during "
              "training (same for every --weights).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a recipe key, e.g. train.lr=3e-4.")
@_user_errors
def finetune_command(recipe, weights, data, label_fraction, steps, epochs, out, seed, device, sets) -> None:
    """Fine-tune a downstream model from an exported backbone (or random init) and score it.

    Trains on the (label-fraction) training split, evaluates on the held-out test split, writes
    OUT/metrics.json and OUT/model.pt, and prints the headline metric.
    """
    from domainssl.finetune.run import finetune

    if weights.lower() != "none" and not Path(weights).is_dir():
        raise click.ClickException(f"--weights {weights}: no such folder; pass an export folder (RUN/export) or 'none'")
    flags = {"data.path": data, "train.label_fraction": label_fraction, "train.steps": steps,
             "train.epochs": epochs, "train.out": out, "train.seed": seed, "train.device": device}
    overrides = {key: value for key, value in flags.items() if value is not None}
    if epochs is not None and steps is None:
        overrides["train.steps"] = None  # --epochs alone: the recipe's step budget gives way
    metrics = finetune(recipe, weights=weights, overrides={**parse_set(sets), **overrides})
    headline = metrics["headline"]
    click.echo(f"{headline['name']}: {headline['value']:.4f}")


@click.group("eval")
def eval_command() -> None:
    """Quick probes of an exported backbone on labelled frames (kNN or linear probe)."""


def _probe_options(func):
    options = [
        click.option("--weights", required=True, type=click.Path(exists=True, file_okay=False),
                     help="Exported backbone folder (domainssl export)."),
        click.option("--data", required=True, type=click.Path(exists=True, file_okay=False),
                     help="Folder of frames (with --labels), or a root with train/ and test/ (each with labels.csv)."),
        click.option("--labels", type=click.Path(exists=True, dir_okay=False),
                     help="CSV with file,class_id[,class_name]; files relative to --data. Default: DATA/labels.csv."),
        click.option("--val-fraction", type=float, default=0.3, show_default=True,
                     help="Share of each class held out (single-folder data only)."),
        click.option("--width", type=int, help="Resize frames to this width (default: the first frame's)."),
        click.option("--height", type=int, help="Resize frames to this height (default: the first frame's)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seeds the train/val split."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _probe(kind: str, weights, data, labels, val_fraction, width, height, seed, as_json, k: int = 20) -> None:
    from domainssl.evaluate.probe import probe_backbone
    from domainssl.evaluate.probe_data import load_probe_splits
    from domainssl.export import ExportSpec, load_backbone
    from domainssl.finetune.run import export_modality

    export = ExportSpec.read(weights)
    if export.spatial_dims == 3:
        raise click.ClickException(f"--weights {weights}: a 3D MONAI export; eval knn|linear probes 2D exports only")
    modality = export_modality(export)
    train, val = load_probe_splits(data, labels, modality, width, height, val_fraction, seed)
    backbone = load_backbone(export, in_chans=modality.in_chans)
    result = probe_backbone(backbone, train.images, train.targets, val.images, val.targets, kind=kind, k=k)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{kind} accuracy: {result['accuracy']:.4f}  (majority class {result['majority_class']:.4f}; "
                   f"{result['num_train']} train / {result['num_val']} val frames, {len(train.class_names)} classes)")


@eval_command.command("knn", epilog="""\b
Examples:
  domainssl eval knn --weights runs/tof/export --data frames/ --labels labels.csv
  domainssl eval knn --weights runs/tof/export --data labelled_root/      # root/train, root/test with labels.csv
""")
@_probe_options
@click.option("--k", type=int, default=20, show_default=True, help="Neighbours.")
@_user_errors
def knn_command(weights, data, labels, val_fraction, width, height, seed, as_json, k) -> None:
    """Weighted kNN accuracy of the frozen backbone's features (BatchNorm recalibrated on the train frames)."""
    _probe("knn", weights, data, labels, val_fraction, width, height, seed, as_json, k=k)


@eval_command.command("linear", epilog="""\b
Examples:
  domainssl eval linear --weights runs/tof/export --data frames/ --labels labels.csv
""")
@_probe_options
@_user_errors
def linear_command(weights, data, labels, val_fraction, width, height, seed, as_json) -> None:
    """Linear-probe accuracy (logistic regression on frozen, BN-recalibrated features)."""
    _probe("linear", weights, data, labels, val_fraction, width, height, seed, as_json)
