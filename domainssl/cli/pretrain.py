"""``domainssl pretrain``, ``preview``, ``export``, ``synth tof`` and ``info``: flags to a config, then the API."""

from __future__ import annotations

from pathlib import Path

import click

from domainssl.cli.common import UserError, apply_options, user_errors

FLAG_KEYS = {
    "modality": "modality.name",
    "method": "method.name",
    "backbone": "model.backbone",
    "image_size": "data.image_size",
    "batch_size": "train.batch_size",
    "epochs": "train.epochs",
    "steps": "train.steps",
    "lr": "optim.lr",
    "out": "train.out",
    "device": "train.device",
    "precision": "train.precision",
    "num_workers": "data.num_workers",
    "seed": "train.seed",
}


def _overrides(flags: dict, sets: tuple[str, ...]) -> dict:
    from domainssl.config import parse_set

    overrides = {FLAG_KEYS[k]: v for k, v in flags.items() if v is not None and k in FLAG_KEYS}
    if flags.get("data"):
        overrides["data.paths"] = list(flags["data"])
    overrides.update(parse_set(sets))
    return overrides


config_options = [
    click.option("--recipe", type=click.Path(dir_okay=False), help="YAML recipe (same keys as RUN/config.yaml)."),
    click.option("--modality", help="Modality name (see `domainssl info`), e.g. tof, gray, ct, mri."),
    click.option("--data", multiple=True, help="File or folder of training data; repeatable. None = synthetic."),
    click.option("--method", help="SSL method: byol, simsiam, moco, simclr."),
    click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override any key, e.g. method.temperature=0.2."),
]


@click.command(
    epilog="""\b
Examples:
  domainssl pretrain --modality tof
  domainssl pretrain --modality gray --data scans/ --method simsiam --steps 2000 --out runs/gray
  domainssl pretrain --modality tof --data frames/ --set modality.units=m --set modality.sensor=kinect_v2
  domainssl pretrain --recipe recipes/pretrain/tof.yaml --set method.name=moco --set method.version=3
  domainssl pretrain --out runs/gray --steps 5000 --resume      # continue an interrupted run
"""
)
@apply_options(config_options)
@click.option("--backbone", help="Any timm model name (2D) or MONAI 3D ResNet name (3D).")
@click.option("--image-size", type=int, help="Side of the square training views, pixels.")
@click.option("--batch-size", type=int)
@click.option("--epochs", type=int, help="Passes over the data (ignored when --steps is given).")
@click.option("--steps", type=int, help="Optimizer steps; overrides --epochs.")
@click.option("--lr", type=float, help="Peak learning rate (default: the method's, scaled by batch/256).")
@click.option("--out", type=click.Path(file_okay=False), help="Run directory.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]))
@click.option("--num-workers", type=int, help="DataLoader worker processes.")
@click.option("--seed", type=int)
@click.option("--resume", is_flag=True, help="Continue from RUN/checkpoints/last.pt.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def pretrain(recipe, sets, resume, quiet, **flags) -> None:
    """Pretrain a backbone with self-supervision and export it for timm.

    Writes RUN/config.yaml, RUN/checkpoints/last.pt, RUN/metrics.csv and RUN/export/.
    Flags override the recipe; --set overrides any nested key. With --resume and no
    --recipe, RUN/config.yaml is the recipe, so `--out RUN --resume` alone continues a run.
    """
    from domainssl.api import make_config
    from domainssl.api import pretrain as run_pretrain
    from domainssl.export import ExportSpec

    saved = Path(flags.get("out") or "runs/latest") / "config.yaml"
    if resume and recipe is None and saved.is_file():
        recipe = str(saved)  # continue the run as it was configured; flags and --set still override
    config = make_config(recipe, _overrides(flags, sets))
    result = run_pretrain(config, resume=resume, progress=not quiet)
    click.echo(f"\nRun directory: {result.run_dir}")
    click.echo(f"  config.yaml, metrics.csv, metrics.png (curves), checkpoints/last.pt ({result.steps} steps)")
    if result.export_dir is not None:
        click.echo(f"  exported backbone: {result.export_dir}")
        if ExportSpec.read(result.export_dir).format == "timm":
            click.echo(f'  load it: timm.create_model("local-dir:{result.export_dir}", pretrained=True)')
        else:
            click.echo(f'  load it: domainssl.load_backbone("{result.export_dir}")  (MONAI 3D network)')
    if config.data.paths:
        click.echo("\nScore it on labelled frames of your own (the built-in kNN check scores the synthetic world):")
        click.echo(f"  domainssl eval knn --weights {result.export_dir} --data LABELLED_DIR --labels labels.csv")
    if result.evaluation:
        ev = result.evaluation
        click.echo(f"\nkNN accuracy on {ev['num_val']} held-out labelled frames ({len(ev['classes'])} classes; "
                   f"features: {ev['readout']}):")
        click.echo(f"  majority class    {ev['majority_class']:.3f}")
        click.echo(f"  raw pixels        {ev['knn_raw_pixels']:.3f}")
        click.echo(f"  random init       {ev['knn_random_init']:.3f}")
        click.echo(f"  pretrained        {ev['knn_pretrained']:.3f}")


@click.command(
    epilog="""\b
Examples:
  domainssl preview --modality tof --out views.png
  domainssl preview --modality gray --data scans/ --out views.png
  domainssl preview --modality tof --set modality.object_aware_crop=0.8 --out views.png
"""
)
@apply_options(config_options)
@click.option("--out", type=click.Path(dir_okay=False), default="views.png", show_default=True)
@click.option("--n", "n_sources", type=int, default=4, show_default=True, help="Source frames to show.")
@click.option("--image-size", type=int, help="Side of the views, pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@user_errors
def preview(recipe, sets, out, n_sources, seed, **flags) -> None:
    """Write a PNG grid of source frames and the views the method receives."""
    from domainssl.api import make_config
    from domainssl.api import preview as run_preview

    flags = {**flags, "seed": seed}
    config = make_config(recipe, _overrides(flags, sets))
    path = run_preview(config, Path(out), n_sources=n_sources)
    click.echo(f"wrote {path}")


@click.command(name="export", epilog="""\b
Examples:
  domainssl export runs/latest                       # timm folder in runs/latest/export
  domainssl export runs/latest --format detectron2 --out d2/
  domainssl export runs/ct3d --format monai
""")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default RUN_DIR/export).")
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False), help="Default: RUN_DIR/checkpoints/last.pt.")
@click.option("--format", "fmt", type=click.Choice(["timm", "detectron2", "monai"]), help="Default: timm (2D), monai (3D).")
@user_errors
def export_cmd(run_dir, out, checkpoint, fmt) -> None:
    """Export a run's backbone: timm folder, detectron2 pickle or MONAI state dict."""
    from domainssl.export import export_run

    path = export_run(run_dir, out=out, checkpoint=checkpoint, format=fmt)
    click.echo(f"wrote {path}")


@click.group()
def synth() -> None:
    """Generate labelled synthetic datasets."""


@synth.command(name="tof", epilog="""\b
Examples:
  domainssl synth tof --out data/tof --n 1000
  domainssl synth tof --out data/objects --n 500 --scene object --size 128x96 --sensor azure_kinect_nfov
""")
@click.option("--out", type=click.Path(file_okay=False), required=True)
@click.option("--n", type=int, default=100, show_default=True, help="Number of frames.")
@click.option("--scene", type=click.Choice(["cluttered", "object"]), default="cluttered", show_default=True)
@click.option("--size", default="320x240", show_default=True, help="WIDTHxHEIGHT in pixels.")
@click.option("--sensor", default="generic", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@user_errors
def synth_tof(out, n, scene, size, sensor, seed) -> None:
    """Render ToF depth frames (16-bit PNG, mm) with masks, COCO boxes and labels."""
    from domainssl.data.synthetic import write_dataset

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError as exc:
        raise UserError(f"--size {size!r}: expected WIDTHxHEIGHT, e.g. 320x240") from exc
    try:
        path = write_dataset(Path(out), n=n, scene=scene, width=width, height=height, sensor=sensor, seed=seed)
    except (ValueError, FileExistsError) as exc:
        raise UserError(str(exc)) from exc
    click.echo(f"wrote {n} {scene} frames to {path}")


@click.command()
def info() -> None:
    """Versions, compute device, registered modalities and methods."""
    from domainssl.api import environment_info

    for line in environment_info():
        click.echo(line)

