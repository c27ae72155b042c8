"""Frozen-feature study of the ToF main job: which defaults make pretrained kNN beat raw pixels.

Each variant is the main job (``recipes/pretrain/tof.yaml``: 250 steps, batch 64, 64 px, synthetic ToF
world) with a few dotted overrides. A run is pretrained once per (variant, seed) with the built-in
evaluation off, then scored by weighted kNN (k = 20, BatchNorm recalibrated on the kNN memory) on
labelled object-centric frames, next to the same split's baselines: raw pixels (the normalised input),
a random-init backbone and the majority class.

Splits: ``val`` frames are rendered from seeds disjoint from the main job's (``seed + VAL_SEED``), and
every decision is taken on them; ``test`` is the main job's own split (what ``domainssl pretrain`` prints),
read once per final setting with ``--split test``. Each kNN figure is given for every feature readout
(``last``: the pooled output; ``last2``: the last two stages pooled and concatenated).

Every row of ``OUT/results.json`` records the variant's overrides, the split, the pretraining wall time,
the export's sha256, the CPU model and ISA, threads and the torch version; rows are saved as they come, and
finished runs are reused, so an interrupted study continues where it stopped.

Usage:
    python benchmarks/representation_study.py --variants byol,simclr --seeds 0 --out runs/study
    python benchmarks/representation_study.py --variants simclr --seeds 0,1,2 --split test --out runs/study
    python benchmarks/representation_study.py --from-results docs/benchmarks/representation_study/results.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import provenance
import torch

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "pretrain" / "tof.yaml"
VAL_SEED = 50_000  # validation kNN frames: seed + VAL_SEED, disjoint from the main job's split (seed)

#: Variants of the main job: dotted overrides of ``recipes/pretrain/tof.yaml``, each naming its method and
#: crop scale (the recipe's own were BYOL with the method's crops before this study, SimCLR with 50-100 % after).
BYOL = {"method.name": "byol", "modality.crop_scale": None}
SIMCLR = {"method.name": "simclr", "modality.crop_scale": None}
VARIANTS: dict[str, dict] = {
    "byol": BYOL,  # the main job before this study
    "byol_tau99": {**BYOL, "method.tau_base": 0.99},
    "byol_lr2x": {**BYOL, "optim.lr": 1e-3},
    "byol_crop50": {**BYOL, "modality.crop_scale": [0.5, 1.0]},
    "simclr": SIMCLR,
    "simclr_crop50": {**SIMCLR, "modality.crop_scale": [0.5, 1.0]},  # the main job after this study
    "simclr_crop70": {**SIMCLR, "modality.crop_scale": [0.7, 1.0]},
    "simclr_crop50_t02": {**SIMCLR, "modality.crop_scale": [0.5, 1.0], "method.temperature": 0.2},
    "simclr_crop50_lr2x": {**SIMCLR, "modality.crop_scale": [0.5, 1.0], "optim.lr": 0.15},
    "moco": {"method.name": "moco", "modality.crop_scale": None},
    "simsiam": {"method.name": "simsiam", "modality.crop_scale": None},
}


def pretrain(variant: str, seed: int, out: Path) -> tuple[Path, float | None]:
    """The run directory of (variant, seed), pretrained now unless its export exists; and its wall seconds
    (None for a run placed there by hand, whose time was not measured here)."""
    import domainssl

    run_dir = out / "runs" / f"{variant}_s{seed}"
    timing = run_dir / "pretrain_seconds.txt"
    if (run_dir / "export" / "model.safetensors").is_file():
        return run_dir, float(timing.read_text()) if timing.is_file() else None
    overrides = {**VARIANTS[variant], "train.seed": seed, "train.out": str(run_dir), "train.evaluate": False}
    start = time.perf_counter()
    domainssl.pretrain(RECIPE, progress=False, **{k.replace(".", "__"): v for k, v in overrides.items()})
    seconds = time.perf_counter() - start
    timing.write_text(f"{seconds:.1f}")
    return run_dir, seconds


def score(run_dir: Path, seed: int, split: str) -> dict:
    """kNN of the pretrained and random-init backbones for each readout, raw pixels and the majority class."""
    from domainssl.api import make_config
    from domainssl.data.synthetic.provider import evaluation_sets
    from domainssl.evaluate.knn import READOUTS, evaluate_backbone, raw_pixel_knn
    from domainssl.export import load_backbone
    from domainssl.models import create_backbone
    from domainssl.modalities import get_modality
    from domainssl.paths import cache_dir

    config = make_config(run_dir / "config.yaml")
    modality = get_modality(config.modality.name, config.modality.options)
    eval_seed = seed + VAL_SEED if split == "val" else seed
    sets = evaluation_sets(modality, cache_dir(), config.data.image_size, eval_seed, tuple(config.train.eval_frames))
    pretrained = load_backbone(run_dir / "export")
    torch.manual_seed(seed)  # the initial weights the run started from
    random_init = create_backbone(config.model.backbone, modality.in_chans, modality.spatial_dims)
    counts = torch.bincount(torch.from_numpy(sets.val_y))
    row = {"knn_raw_pixels": raw_pixel_knn(sets), "majority_class": float(counts.max() / counts.sum())}
    for readout in READOUTS:
        row[f"knn_pretrained_{readout}"] = evaluate_backbone(pretrained, sets, readout=readout)
        row[f"knn_random_init_{readout}"] = evaluate_backbone(random_init, sets, readout=readout)
    return row


def run(variants: list[str], seeds: list[int], split: str, out: Path) -> list[dict]:
    """Pretrain and score each (variant, seed) not yet in ``OUT/results.json``; returns every row."""
    results_path = out / "results.json"
    rows = json.loads(results_path.read_text()) if results_path.is_file() else []
    done = {(r["variant"], r["seed"], r["split"]) for r in rows}
    for variant in variants:
        for seed in seeds:
            if (variant, seed, split) in done:
                continue
            run_dir, seconds = pretrain(variant, seed, out)
            row = {"variant": variant, "overrides": VARIANTS[variant], "seed": seed, "split": split,
                   **score(run_dir, seed, split), "pretrain_seconds": None if seconds is None else round(seconds, 1),
                   "export_sha256": provenance.export_sha256(run_dir),
                   "resolved_config": (run_dir / "config.yaml").read_text(), **provenance.machine()}
            rows.append(row)
            results_path.write_text(json.dumps(rows, indent=1))
            print(table([row]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """One line per row: kNN of raw pixels, random init and pretrained for each readout."""
    lines = ["| variant | seed | split | raw pixels | random last | random last2 | pretrained last | pretrained last2 | pretrain s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['seed']} | {r['split']} | {r['knn_raw_pixels']:.3f} | "
                     f"{r['knn_random_init_last']:.3f} | {r['knn_random_init_last2']:.3f} | "
                     f"{r['knn_pretrained_last']:.3f} | {r['knn_pretrained_last2']:.3f} | "
                     f"{'—' if r['pretrain_seconds'] is None else round(r['pretrain_seconds'])} |")
    return "\n".join(lines)


def report(rows: list[dict]) -> str:
    """The study's markdown page: how it was run, the table, and the machine (``--from-results`` prints it)."""
    first = rows[0]
    return "\n".join([
        "# Frozen features of the ToF main job: the representation study", "",
        "Written by `python benchmarks/representation_study.py --from-results "
        "docs/benchmarks/representation_study/results.json`; see docs/results.md, \"Frozen features of the main job\".",
        "kNN accuracy (k = 20) on 500 held-out object-centric frames; `val` splits are rendered from seeds disjoint from",
        "the main job's, `test` is the main job's own split. `last` reads the pooled output, `last2` the last two stages.",
        "", table(rows), "",
        f"Machine: {first['cpu']} ({first['isa']}), {first['threads']} torch threads, torch {first['torch']}.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="simclr_crop50", help=f"comma-separated, from {sorted(VARIANTS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated pretraining seeds")
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--out", type=Path, default=Path("runs/representation_study"))
    parser.add_argument("--from-results", type=Path, help="print the table of an earlier results.json and exit")
    args = parser.parse_args()
    if args.from_results:
        print(report(json.loads(args.from_results.read_text())))
        return
    unknown = sorted(set(args.variants.split(",")) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {sorted(VARIANTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = run(args.variants.split(","), [int(s) for s in args.seeds.split(",")], args.split, args.out)
    print(table(rows))


if __name__ == "__main__":
    main()
