"""A real-data check any machine can run: scikit-learn's digits (1,797 real 8×8 scans of handwritten digits).

The scans are upsampled (bilinear) to 32×32 8-bit PNGs and split once, stratified, into 1,200 train and 597
test images. ``domainssl pretrain --modality gray`` runs on the train images *without their labels*, with the
gray modality's defaults and the settings below; then the frozen backbone is probed on the digit labels:
weighted kNN (k = 20) and a linear probe fitted on the train images, scored on the test images. The same
probes run on raw pixels (the normalised input, flattened) and on a random-init backbone (BatchNorm
recalibrated on the train images), for each pretraining seed.

Usage:
    pip install scikit-learn        # or: pip install -e ".[dev]"
    python benchmarks/digits_check.py --seeds 0,1,2 --out runs/digits --doc docs/benchmarks/digits.md
    python benchmarks/digits_check.py --quick       # a smoke run: 2 epochs, 1 seed
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import provenance
import torch

SIZE = 32  # upsampled side, pixels
TEST_IMAGES = 597


def write_digits(folder: Path) -> tuple[list[Path], np.ndarray, list[Path], np.ndarray]:
    """The digits as 32×32 8-bit PNGs under ``folder/train`` and ``folder/test``; returns files and labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0 * 255.0).round().astype(np.uint8)  # N x 8 x 8, 0..16 -> 0..255
    index = np.arange(len(images))
    train_idx, test_idx = train_test_split(index, test_size=TEST_IMAGES, stratify=digits.target, random_state=0)
    files = {}
    for split, picks in (("train", train_idx), ("test", test_idx)):
        (folder / split).mkdir(parents=True, exist_ok=True)
        files[split] = []
        for i in picks:
            path = folder / split / f"{i:04d}.png"
            if not path.is_file():
                cv2.imwrite(str(path), cv2.resize(images[i], (SIZE, SIZE), interpolation=cv2.INTER_LINEAR))
            files[split].append(path)
    return files["train"], digits.target[train_idx], files["test"], digits.target[test_idx]


def pretrain(train_dir: Path, run_dir: Path, seed: int, settings: dict) -> dict:
    """Pretrain on the unlabelled train images (reused when its provenance matches); its provenance record."""
    import domainssl

    if (run_dir / provenance.NAME).is_file():
        return provenance.read_checked(run_dir)
    overrides = {"modality.name": "gray", "data.paths": [str(train_dir)], "data.image_size": SIZE,
                 "train.seed": seed, "train.out": str(run_dir), **settings}
    start = time.perf_counter()
    domainssl.pretrain(progress=False, **{k.replace(".", "__"): v for k, v in overrides.items()})
    return provenance.write(run_dir, time.perf_counter() - start)


def probes(run_dir: Path, train: list[Path], train_y: np.ndarray, test: list[Path], test_y: np.ndarray,
           seed: int) -> dict[str, float]:
    """kNN and linear-probe accuracy of raw pixels, the random-init and the pretrained backbone."""
    from domainssl.evaluate.knn import knn_accuracy
    from domainssl.evaluate.probe import linear_probe_accuracy, probe_backbone
    from domainssl.export import ExportSpec, load_backbone
    from domainssl.finetune.run import export_modality
    from domainssl.models import create_backbone

    spec = ExportSpec.read(run_dir / "export")
    modality = export_modality(spec)  # the run's normalisation (statistics fitted on the train images)

    def frames(files: list[Path]) -> np.ndarray:
        return np.stack([modality.normalise(a, modality.validity(a)) for a in map(modality.read, files)])

    train_x, test_x = frames(train), frames(test)
    torch.manual_seed(seed)  # the initial weights the run started from
    backbones = {"random_init": create_backbone(spec.architecture, spec.in_chans), "pretrained": load_backbone(spec)}
    flat = [torch.nn.functional.normalize(torch.from_numpy(x).flatten(1), dim=1) for x in (train_x, test_x)]
    labels = [torch.from_numpy(y).long() for y in (train_y, test_y)]
    row = {"knn_raw_pixels": knn_accuracy(flat[0], labels[0], flat[1], labels[1], k=20),
           "linear_raw_pixels": linear_probe_accuracy(flat[0], labels[0], flat[1], labels[1])}
    for name, backbone in backbones.items():
        for kind in ("knn", "linear"):
            row[f"{kind}_{name}"] = probe_backbone(backbone, train_x, train_y, test_x, test_y, kind=kind)["accuracy"]
    return row


def report(rows: list[dict], settings: dict, command: str) -> str:
    """A markdown table of mean ± std over pretraining seeds, then one line per seed."""
    keys = [f"{kind}_{init}" for kind in ("knn", "linear") for init in ("raw_pixels", "random_init", "pretrained")]

    def cell(key: str) -> str:
        values = np.array([r[key] for r in rows])
        return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}"

    lines = [f"# Real-data check: scikit-learn digits, {len(rows)} pretraining seed(s)", "",
             f"Command: `{command}`. Pretraining (gray modality, labels unused): `{json.dumps(settings)}`.", "",
             "| probe | raw pixels | random init | pretrained |", "|---|---|---|---|",
             *(f"| {kind} | {cell(f'{kind}_raw_pixels')} | {cell(f'{kind}_random_init')} | {cell(f'{kind}_pretrained')} |"
               for kind in ("knn", "linear")), "",
             "| seed | " + " | ".join(keys) + " | pretrain s | export sha256 |",
             "|---" * (len(keys) + 3) + "|"]
    for r in rows:
        lines.append(f"| {r['seed']} | " + " | ".join(f"{r[k]:.3f}" for k in keys)
                     + f" | {r['pretrain_seconds']:.0f} | `{r['export_sha256'][:12]}` |")
    first = rows[0]
    lines += ["", f"Machine: {first['cpu']} ({first['isa']}), {first['threads']} torch threads, torch {first['torch']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated pretraining seeds")
    parser.add_argument("--method", default="byol")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("runs/digits"))
    parser.add_argument("--doc", type=Path, help="write the report here, and results.json beside it")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, seed 0")
    args = parser.parse_args()
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    settings = {"method.name": args.method, "train.epochs": 2 if args.quick else args.epochs,
                "train.batch_size": args.batch_size}
    train, train_y, test, test_y = write_digits(args.out / "images")
    rows = []
    for seed in seeds:
        run_dir = args.out / f"{args.method}_e{settings['train.epochs']}_s{seed}"
        record = pretrain(args.out / "images" / "train", run_dir, seed, settings)
        rows.append({"seed": seed, **probes(run_dir, train, train_y, test, test_y, seed), **record})
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "resolved_config"}), flush=True)
    command = "python benchmarks/digits_check.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in (("seeds", ",".join(map(str, seeds))), ("method", args.method),
                                                   ("epochs", settings["train.epochs"]),
                                                   ("batch_size", args.batch_size)))
    text = report(rows, settings, command)
    print(text)
    if args.doc:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(text)
        folder = args.doc.with_suffix("")
        folder.mkdir(exist_ok=True)
        (folder / "results.json").write_text(json.dumps({"rows": rows, "settings": settings, "command": command},
                                                        indent=1))


if __name__ == "__main__":
    main()
