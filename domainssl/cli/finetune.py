"""``domainssl finetune``: flags to dotted recipe keys, then :func:`~domainssl.finetune.run.finetune`."""

from __future__ import annotations

from pathlib import Path

import click

from domainssl.cli.common import user_errors
from domainssl.config import parse_set


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
@user_errors
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
