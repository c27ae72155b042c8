"""``domainssl eval knn|linear``: quick probes of an exported backbone on labelled frames."""

from __future__ import annotations

import json

import click

from domainssl.cli.common import apply_options, user_errors


@click.group("eval")
def eval_command() -> None:
    """Quick probes of an exported backbone on labelled frames (kNN or linear probe)."""


PROBE_OPTIONS = [
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
@apply_options(PROBE_OPTIONS)
@click.option("--k", type=int, default=20, show_default=True, help="Neighbours.")
@user_errors
def knn_command(weights, data, labels, val_fraction, width, height, seed, as_json, k) -> None:
    """Weighted kNN accuracy of the frozen backbone's features (BatchNorm recalibrated on the train frames)."""
    _probe("knn", weights, data, labels, val_fraction, width, height, seed, as_json, k=k)


@eval_command.command("linear", epilog="""\b
Examples:
  domainssl eval linear --weights runs/tof/export --data frames/ --labels labels.csv
""")
@apply_options(PROBE_OPTIONS)
@user_errors
def linear_command(weights, data, labels, val_fraction, width, height, seed, as_json) -> None:
    """Linear-probe accuracy (logistic regression on frozen, BN-recalibrated features)."""
    _probe("linear", weights, data, labels, val_fraction, width, height, seed, as_json)
