"""SSL init vs random init on the synthetic ToF world: segmentation, detection, classification.

Design (issue 6, item 4):

* Data: the synthetic ToF world; fine-tuning splits train / val / test are rendered from seeds disjoint
  from each other and from the pretraining frames (see ``domainssl.finetune.data.SPLIT_SEEDS``).
  Segmentation and detection on cluttered scenes, classification on object-centric scenes.
* Inits: random, and one export per SSL method (BYOL, SimSiam, MoCo, SimCLR) pretrained with
  ``domainssl.pretrain`` for the same number of optimiser steps.
* Baselines in every table: random init at each label fraction; a supervised-from-scratch upper bound
  (random init, all labels, ``--upper-bound-factor`` x the fine-tuning steps); classification also has the
  majority class and raw-pixel kNN (labelled subset as the kNN memory).
* Label fractions (default 1 %, 10 %, 100 %) x seeds (default 5). Paired comparisons: for one seed every
  init sees the same labelled subset in the same batch order with the same head initialisation; the
  tables give mean ± std over seeds and the paired difference to random init.
* Pilot: BYOL at several pretraining budgets (default 500, 2,000, 8,000 steps), segmentation mIoU at
  10 % labels, plotted as PNG.
* Output: ``docs/benchmarks.md`` (tables, exact command, budgets, machine), PNG plots next to it, and
  ``OUT/results.json``. Finished runs (``metrics.json`` present) are reused, so a long run can resume.

Budgets are in optimiser steps, never wall-clock time. ``--quick`` runs the whole pipeline end to end
with tiny budgets (a smoke run, not a measurement).

Usage:
    python benchmarks/ssl_vs_scratch.py --quick
    python benchmarks/ssl_vs_scratch.py --out runs/bench --device cuda          # the full design
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes" / "finetune"
TASKS = {"segmentation": "tof_segmentation", "detection": "tof_detection", "classification": "tof_classification"}
METHODS = ("byol", "simsiam", "moco", "simclr")


@dataclass
class Budget:
    """Everything that sets the cost of a benchmark run."""

    backbone: str = "resnet18"
    pretrain_steps: int = 2000
    pretrain_batch: int = 128
    pretrain_image_size: int = 64
    pretrain_frames: int = 8192
    pilot_steps: list[int] = field(default_factory=lambda: [500, 2000, 8000])
    width: int = 128
    height: int = 96
    train_frames: int = 1000
    val_frames: int = 200
    test_frames: int = 500
    finetune_steps: dict[str, int] = field(default_factory=lambda: {"segmentation": 1200, "detection": 1500, "classification": 800})
    upper_bound_factor: int = 2
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    num_workers: int = 4


QUICK = Budget(backbone="resnet10t", pretrain_steps=20, pretrain_batch=32, pretrain_image_size=32, pretrain_frames=256,
               pilot_steps=[10, 20, 40], width=64, height=48, train_frames=64, val_frames=0, test_frames=32,
               finetune_steps={"segmentation": 10, "detection": 10, "classification": 10}, upper_bound_factor=2,
               fractions=[0.1, 1.0], seeds=[0, 1], num_workers=0)


def pretrain_export(method: str, steps: int, budget: Budget, out: Path, device: str) -> Path:
    """The export of one SSL pretraining run (reused when it already exists)."""
    import domainssl

    run_dir = out / "pretrain" / f"{method}_{steps}"
    if (run_dir / "export" / "config.json").is_file():
        return run_dir / "export"
    result = domainssl.pretrain(
        modality__name="tof", method__name=method, model__backbone=budget.backbone,
        data__image_size=budget.pretrain_image_size, data__synthetic_frames=budget.pretrain_frames,
        data__num_workers=budget.num_workers, train__batch_size=budget.pretrain_batch, train__steps=steps,
        train__out=str(run_dir), train__evaluate=False, train__device=device, progress=False,
    )
    return result.export_dir


def finetune_run(task: str, weights: Path | None, fraction: float, seed: int, steps: int, budget: Budget,
                 out: Path, device: str) -> dict:
    """One fine-tuning run (reused when its metrics.json exists)."""
    from domainssl.finetune import finetune

    if (out / "metrics.json").is_file():
        return json.loads((out / "metrics.json").read_text())
    overrides = {"data.width": budget.width, "data.height": budget.height, "data.train_frames": budget.train_frames,
                 "data.val_frames": budget.val_frames, "data.test_frames": budget.test_frames,
                 "model.backbone": budget.backbone}
    return finetune(RECIPES / f"{TASKS[task]}.yaml", weights=weights, label_fraction=fraction, steps=steps, seed=seed,
                    out=out, device=device, overrides=overrides, verbose=False)


def raw_pixel_knn(fraction: float, seed: int, budget: Budget) -> float:
    """kNN accuracy on normalised pixels of the classification test split, labelled subset as memory."""
    import torch
    import torch.nn.functional as F

    from domainssl.evaluate.knn import knn_accuracy
    from domainssl.finetune import load_finetune_recipe
    from domainssl.finetune.data import load_splits_2d, subset_indices
    from domainssl.modalities import get_modality

    recipe = load_finetune_recipe(RECIPES / "tof_classification.yaml", {
        "data.width": budget.width, "data.height": budget.height, "data.train_frames": budget.train_frames,
        "data.val_frames": 0, "data.test_frames": budget.test_frames})
    modality = get_modality("tof", **{k: v for k, v in recipe.modality.items() if k != "name"})
    splits = load_splits_2d(recipe.data, "classification", modality, fit_stats=True)
    train = splits["train"].subset(subset_indices(len(splits["train"]), fraction, seed, labels=splits["train"].targets))
    flat = [F.normalize(torch.from_numpy(s.images).flatten(1), dim=1) for s in (train, splits["test"])]
    return knn_accuracy(flat[0], torch.from_numpy(train.targets), flat[1], torch.from_numpy(splits["test"].targets))


def run_benchmark(budget: Budget, out: Path, device: str, methods: list[str]) -> dict:
    """All pretraining and fine-tuning runs; returns ``{"runs": [...], "pilot": [...], "pretrain": {...}}``."""
    started = time.perf_counter()
    exports = {m: pretrain_export(m, budget.pretrain_steps, budget, out, device) for m in methods}
    inits: dict[str, Path | None] = {"random": None, **exports}
    runs = []
    for task, steps in budget.finetune_steps.items():
        for fraction in budget.fractions:
            for seed in budget.seeds:
                for init, weights in inits.items():
                    m = finetune_run(task, weights, fraction, seed, steps, budget,
                                     out / "finetune" / task / f"{init}_f{fraction}_s{seed}", device)
                    runs.append(_row(task, init, fraction, seed, steps, m))
        for seed in budget.seeds:  # supervised-from-scratch upper bound: all labels, a longer budget
            long = steps * budget.upper_bound_factor
            m = finetune_run(task, None, 1.0, seed, long, budget, out / "finetune" / task / f"upper_s{seed}", device)
            runs.append(_row(task, "upper_bound", 1.0, seed, long, m))
        print(f"[{time.perf_counter() - started:7.0f}s] {task} done", flush=True)
    for fraction in budget.fractions:
        for seed in budget.seeds:
            runs.append({"task": "classification", "init": "raw_pixel_knn", "fraction": fraction, "seed": seed,
                         "steps": 0, "value": raw_pixel_knn(fraction, seed, budget)})
    pilot = []
    pilot_fraction = 0.1 if 0.1 in budget.fractions else budget.fractions[0]
    for steps in budget.pilot_steps:
        weights = pretrain_export("byol", steps, budget, out, device)
        for seed in budget.seeds:
            m = finetune_run("segmentation", weights, pilot_fraction, seed, budget.finetune_steps["segmentation"],
                             budget, out / "pilot" / f"byol{steps}_f{pilot_fraction}_s{seed}", device)
            pilot.append({"pretrain_steps": steps, "seed": seed, "fraction": pilot_fraction, "value": m["headline"]["value"]})
    return {"runs": runs, "pilot": pilot, "pretrain": {m: str(p) for m, p in exports.items()},
            "seconds": round(time.perf_counter() - started, 1)}


def _row(task: str, init: str, fraction: float, seed: int, steps: int, metrics: dict) -> dict:
    row = {"task": task, "init": init, "fraction": fraction, "seed": seed, "steps": steps,
           "metric": metrics["headline"]["name"], "value": metrics["headline"]["value"]}
    if task == "detection":
        row["map_50_95"] = metrics["test"]["map_50_95"]
    if task == "classification":
        row["majority_class"] = metrics["test"]["majority_class"]
    return row


def tables(results: dict, budget: Budget) -> list[str]:
    """Markdown tables: mean ± std per init and fraction, and the paired difference to random init."""
    lines = []
    runs = results["runs"]
    for task in budget.finetune_steps:
        rows = [r for r in runs if r["task"] == task]
        metric = next(r.get("metric") for r in rows if r.get("metric"))
        fractions = budget.fractions
        lines += [f"### {task} ({metric}, test split)", "",
                  "| init | " + " | ".join(f"{f:.0%} labels" for f in fractions) + " |",
                  "|---|" + "---|" * len(fractions)]
        inits = ["random", *results["pretrain"], "upper_bound"] + (["raw_pixel_knn"] if task == "classification" else [])
        for init in inits:
            cells = []
            for f in fractions:
                values = [r["value"] for r in rows if r["init"] == init and r["fraction"] == f]
                cells.append(_mean_std(values) if values else "–")
            lines.append(f"| {init} | " + " | ".join(cells) + " |")
        if task == "classification":
            majority = [r["majority_class"] for r in rows if "majority_class" in r]
            lines.append("| majority class | " + " | ".join([_mean_std(majority)] * len(fractions)) + " |")
        lines += ["", f"Paired difference to random init (same seed, subset, batch order), mean ± std over "
                  f"{len(budget.seeds)} seeds, and wins:", "",
                  "| init | " + " | ".join(f"Δ at {f:.0%}" for f in fractions) + " |", "|---|" + "---|" * len(fractions)]
        for init in results["pretrain"]:
            cells = []
            for f in fractions:
                base = {r["seed"]: r["value"] for r in rows if r["init"] == "random" and r["fraction"] == f}
                diffs = [r["value"] - base[r["seed"]] for r in rows if r["init"] == init and r["fraction"] == f]
                cells.append(f"{_mean_std(diffs, signed=True)} ({sum(d > 0 for d in diffs)}/{len(diffs)})")
            lines.append(f"| {init} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _mean_std(values: list[float], signed: bool = False) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean, std = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{mean:+.3f} ± {std:.3f}" if signed else f"{mean:.3f} ± {std:.3f}"


def plots(results: dict, budget: Budget, folder: Path, prefix: str) -> list[Path]:
    """PNG plots: headline vs label fraction per task, and the BYOL pretraining-budget pilot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    tasks = list(budget.finetune_steps)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4))
    for ax, task in zip(np.atleast_1d(axes), tasks):
        rows = [r for r in results["runs"] if r["task"] == task]
        for init in ["random", *results["pretrain"]] + (["raw_pixel_knn"] if task == "classification" else []):
            means = [np.mean([r["value"] for r in rows if r["init"] == init and r["fraction"] == f]) for f in budget.fractions]
            stds = [np.std([r["value"] for r in rows if r["init"] == init and r["fraction"] == f]) for f in budget.fractions]
            ax.errorbar(budget.fractions, means, yerr=stds, marker="o", capsize=3, label=init)
        upper = [r["value"] for r in rows if r["init"] == "upper_bound"]
        ax.axhline(np.mean(upper), color="k", linestyle="--", label="upper bound (all labels, longer)")
        ax.set(xscale="log", xlabel="label fraction", ylabel=rows[0]["metric"], title=task)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(folder / f"{prefix}label_fractions.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    steps = sorted({p["pretrain_steps"] for p in results["pilot"]})
    values = [[p["value"] for p in results["pilot"] if p["pretrain_steps"] == s] for s in steps]
    ax.errorbar(steps, [np.mean(v) for v in values], yerr=[np.std(v) for v in values], marker="o", capsize=3, label="BYOL")
    random = [r["value"] for r in results["runs"] if r["task"] == "segmentation" and r["init"] == "random"
              and r["fraction"] == results["pilot"][0]["fraction"]]
    ax.axhline(np.mean(random), color="gray", linestyle="--", label="random init")
    ax.set(xscale="log", xlabel="BYOL pretraining steps", ylabel="segmentation mIoU",
           title=f"pilot: {results['pilot'][0]['fraction']:.0%} labels")
    ax.legend()
    fig.tight_layout()
    paths.append(folder / f"{prefix}byol_budget_pilot.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def machine() -> str:
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {os.cpu_count()} cores"
    return (f"{platform.platform()}; Python {platform.python_version()}; torch {torch.__version__}; {device}; "
            f"torch threads {torch.get_num_threads()}")


def write_report(results: dict, budget: Budget, doc: Path, quick: bool, command: str, png: list[Path]) -> None:
    title = "SSL init vs random init on the synthetic ToF world" + (" (--quick smoke run: NOT a measurement)" if quick else "")
    lines = [f"# {title}", "",
             f"Command: `{command}`", "",
             f"Machine: {machine()}", "",
             f"Wall time: {results['seconds']:.0f} s", "",
             "Budgets (optimiser steps):", "", "```json", json.dumps(asdict(budget), indent=1), "```", "",
             *tables(results, budget),
             "### Pilot: BYOL pretraining budget", "",
             "| BYOL steps | segmentation mIoU |", "|---|---|"]
    for s in sorted({p["pretrain_steps"] for p in results["pilot"]}):
        lines.append(f"| {s} | {_mean_std([p['value'] for p in results['pilot'] if p['pretrain_steps'] == s])} |")
    lines += ["", *[f"![{p.stem}]({os.path.relpath(p, doc.parent)})" for p in png], ""]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny budgets: an end-to-end smoke run in minutes")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/bench or runs/bench-quick)")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, help="number of seeds (default 5, quick 2)")
    parser.add_argument("--backbone", help="timm backbone (default resnet18, quick resnet10t)")
    args = parser.parse_args(argv)

    budget = QUICK if args.quick else Budget()
    if args.seeds:
        budget.seeds = list(range(args.seeds))
    if args.backbone:
        budget.backbone = args.backbone
    out = args.out or REPO / "runs" / ("bench-quick" if args.quick else "bench")
    if args.quick:
        os.environ.setdefault("DOMAINSSL_CACHE", str(out / "cache"))
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO), *(sys.argv[1:] if argv is None else argv)])
    results = run_benchmark(budget, out, args.device, args.methods)
    (out / "results.json").write_text(json.dumps({"budget": asdict(budget), **results}, indent=1))
    prefix = "quick_" if args.quick else ""
    png = plots(results, budget, args.doc.parent / "benchmarks", prefix)
    write_report(results, budget, args.doc, args.quick, command, png)
    print("\n".join(tables(results, budget)))
    print(f"wrote {args.doc}, {', '.join(map(str, png))} and {out / 'results.json'}")


if __name__ == "__main__":
    main()
