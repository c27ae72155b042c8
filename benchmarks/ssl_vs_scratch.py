"""SSL init vs random init on the synthetic ToF world: segmentation, detection, classification.

Design (issue 6, item 4):

* Data: the synthetic ToF world; fine-tuning splits train / val / test are rendered from seeds disjoint
  from each other and from the pretraining frames (see ``domainssl.data.synthetic.splits.SPLIT_SEEDS``).
  Segmentation and detection on cluttered scenes, classification on object-centric scenes.
* Inits: random, and one export per SSL method (BYOL, SimSiam, MoCo, SimCLR) pretrained with
  ``domainssl.pretrain`` for the same number of optimiser steps.
* Baselines in every table: random init at each label fraction; a supervised-from-scratch upper bound
  (random init, all labels, ``Budget.upper_bound_factor`` x the fine-tuning steps at 100 % labels), which each
  SSL init also gets at its budget (equal-budget runs: is the gain with all labels just faster convergence?);
  classification also has the majority class, raw-pixel kNN (labelled subset as the kNN memory), and kNN /
  linear probes on the frozen features of every init (no fine-tuning; the natural comparison at 1 % labels).
* Label fractions (default 1 %, 10 %, 100 % for every task) x seeds (default 5). Paired comparisons: for
  one seed every init sees the same labelled subset in the same batch order with the same head
  initialisation; the tables give mean ± std over seeds and the paired difference to random init.
* Pilot: BYOL at several pretraining budgets (default 500, 2,000, 8,000 steps), segmentation mIoU at
  10 % labels, plotted as PNG.
* Output: ``docs/benchmarks.md`` (tables, exact command, budgets, machine; written by
  ``ssl_vs_scratch_report.py``); PNG plots and ``results.json`` (every run's values, the budget, command and
  machine) in the folder of the same name, and a copy in ``OUT``. ``--from-results`` writes a report again
  from such a file without running anything.
  Finished runs (``metrics.json`` present) are reused, so a long run can resume; a finished run of other
  steps or another backbone stops the benchmark instead. ``--baselines-from`` takes the random-init and
  upper-bound runs from an earlier ``results.json`` of the same fine-tuning settings instead of running them
  again (a fine-tune is deterministic for its seed on a given CPU); the report names the file.

Budgets are in optimiser steps, never wall-clock time. ``--quick`` runs the whole pipeline end to end
with tiny budgets (a smoke run, not a measurement).

Every flag below narrows the full design to what a machine can afford; the report records the exact
command, so a narrowed run is never mistaken for the full one. ``--jobs N`` runs N pretraining /
fine-tuning runs at once, one torch thread each: on the 2-core dev CPU a segmentation fine-tuning step
(bf16, batch 16, 128x96) takes 0.76 s on one thread and 0.44 s on two, so two single-thread jobs do more
work per second than one two-thread job, and the view generation of pretraining runs in parallel too.

Usage:
    python benchmarks/ssl_vs_scratch.py --quick                                 # report: runs/bench-quick/benchmarks.md
    python benchmarks/ssl_vs_scratch.py --out runs/bench --device cuda          # the full design
    # what fits 2 CPU cores (docs/benchmarks.md gives the exact command of the measured run):
    python benchmarks/ssl_vs_scratch.py --fractions 0.1 classification=0.01,0.1,1 --pretrain-steps 1000 \\
        --finetune-steps segmentation=600 classification=400 detection=1200 --pilot-steps --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import multiprocessing
import multiprocessing.connection
import os
import shlex
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import provenance
import ssl_vs_scratch_report as report

REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes" / "finetune"
TASKS = {"segmentation": "tof_segmentation", "detection": "tof_detection", "classification": "tof_classification"}
METHODS = ("byol", "simsiam", "moco", "simclr")
EQUAL_BUDGET = report.EQUAL_BUDGET  # init-name suffix of an SSL init's all-labels run at the upper bound's steps


@dataclass
class Budget:
    """Everything that sets the cost of a benchmark run."""

    backbone: str = "resnet18"
    pretrain_steps: int = 2000
    pretrain_batch: int = 128
    pretrain_image_size: int = 64
    pretrain_frames: int = 8192
    pilot_steps: list[int] = field(default_factory=lambda: [500, 2000, 8000])
    pilot_seeds: int = 5
    width: int = 128
    height: int = 96
    train_frames: int = 1000
    val_frames: int = 200
    test_frames: int = 500
    finetune_steps: dict[str, int] = field(
        default_factory=lambda: {"segmentation": 1200, "detection": 1500, "classification": 800})
    # task -> {fraction: steps}, wins over finetune_steps. All labels converge later (random init, 100 % labels,
    # seed 0, 2-core CPU): segmentation 0.533 / 0.579 / 0.588 mIoU after 1,200 / 2,400 / 4,800 steps, detection
    # 0.541 / 0.577 mAP@0.5 after 1,200 / 2,400.
    steps_by_fraction: dict[str, dict[float, int]] = field(
        default_factory=lambda: {"segmentation": {1.0: 2400}, "detection": {1.0: 2400}})
    finetune_precision: str = "bf16"
    upper_bound_factor: int = 2
    upper_bound_seeds: int = 5
    equal_budget_seeds: int = 5
    fractions: dict[str, list[float]] = field(default_factory=lambda: {t: [0.01, 0.1, 1.0] for t in TASKS})
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    num_workers: int = 4

    def steps(self, task: str, fraction: float) -> int:
        """Fine-tuning optimiser steps of ``task`` at label ``fraction``."""
        return self.steps_by_fraction.get(task, {}).get(fraction, self.finetune_steps[task])

    def upper_bound_steps(self, task: str) -> int:
        """Steps of the all-labels upper bound: ``upper_bound_factor`` x the budget at 100 % labels."""
        return self.steps(task, 1.0) * self.upper_bound_factor


QUICK = Budget(backbone="resnet10t", pretrain_steps=20, pretrain_batch=32, pretrain_image_size=32, pretrain_frames=256,
               pilot_steps=[10, 20, 40], width=64, height=48, train_frames=64, val_frames=0, test_frames=32,
               finetune_steps={"segmentation": 10, "detection": 10, "classification": 10}, steps_by_fraction={},
               upper_bound_factor=2, upper_bound_seeds=2, equal_budget_seeds=2,
               fractions={t: [0.1, 1.0] for t in TASKS}, seeds=[0, 1], num_workers=0)


#: Budget fields that shape a fine-tune; runs taken with ``--baselines-from`` must have been run with the same.
FINETUNE_SETTINGS = ("backbone", "width", "height", "train_frames", "val_frames", "test_frames", "finetune_precision")
BASELINES = ("random", "upper_bound")  # inits that need no pretraining

#: Pretraining settings a reused run may differ in: fitted from the data, where and how it ran, or evaluation only.
RUN_ONLY_SETTINGS = ("modality.mean", "modality.std", "train.out", "train.device", "data.num_workers",
                     "train.eval_frames", "train.eval_readout")


def pretrain_export(method: str, steps: int, budget: Budget, out: Path, device: str, num_workers: int) -> Path:
    """The export of one SSL pretraining run (reused when it exists and was trained with today's settings)."""
    import domainssl

    run_dir = out / "pretrain" / f"{method}_{steps}"
    overrides = {"modality.name": "tof", "method.name": method, "model.backbone": budget.backbone,
                 "data.image_size": budget.pretrain_image_size, "data.synthetic_frames": budget.pretrain_frames,
                 "data.num_workers": num_workers, "train.batch_size": budget.pretrain_batch, "train.steps": steps,
                 "train.out": str(run_dir), "train.evaluate": False, "train.device": device}
    if (run_dir / "export" / "config.json").is_file():
        changed = changed_settings(run_dir / "config.yaml", overrides)
        if changed:
            raise RuntimeError(f"{run_dir} was pretrained with other settings than this benchmark asks for "
                               f"({'; '.join(changed)}), e.g. before a default changed: pass another --out")
        provenance.read_checked(run_dir)
        return run_dir / "export"
    start = time.perf_counter()
    result = domainssl.pretrain(progress=False, **{key.replace(".", "__"): value for key, value in overrides.items()})
    provenance.write(run_dir, time.perf_counter() - start)
    return result.export_dir


def changed_settings(saved: Path, overrides: dict) -> list[str]:
    """``"key: saved -> asked"`` for each setting of the run config ``saved`` that differs from the config
    ``overrides`` resolve to today (optimiser defaults included), ignoring ``RUN_ONLY_SETTINGS``."""
    import yaml

    from domainssl.api import make_config
    from domainssl.train.optim import with_resolved_optim

    asked = with_resolved_optim(make_config(overrides=overrides)).to_dict()
    stored = yaml.safe_load(saved.read_text())
    return [f"{section}.{key}: {stored.get(section, {}).get(key)!r} -> {value!r}"
            for section, values in asked.items() for key, value in values.items()
            if f"{section}.{key}" not in RUN_ONLY_SETTINGS and stored.get(section, {}).get(key) != value]


def finetune_run(task: str, weights: Path | None, fraction: float, seed: int, steps: int, budget: Budget,
                 out: Path, device: str) -> dict:
    """One fine-tuning run (reused when its metrics.json exists and was trained with the same steps and backbone)."""
    from domainssl.finetune import finetune

    if (out / "metrics.json").is_file():
        metrics = json.loads((out / "metrics.json").read_text())
        if (metrics["steps"], metrics["architecture"]) != (steps, budget.backbone):
            raise RuntimeError(f"{out} holds a {metrics['architecture']} run of {metrics['steps']} steps, but this "
                               f"benchmark asks for {budget.backbone} and {steps} steps: pass another --out")
        return metrics
    overrides = {"data.width": budget.width, "data.height": budget.height, "data.train_frames": budget.train_frames,
                 "data.val_frames": budget.val_frames, "data.test_frames": budget.test_frames,
                 "model.backbone": budget.backbone, "train.precision": budget.finetune_precision,
                 "train.label_fraction": fraction, "train.steps": steps, "train.seed": seed, "train.out": str(out),
                 "train.device": device}
    return finetune(RECIPES / f"{TASKS[task]}.yaml", weights=weights, overrides=overrides, verbose=False)


def classification_splits(budget: Budget):
    """(modality, train, test) of the benchmark's classification data: normalised frames, every train frame."""
    from domainssl.finetune import FinetuneRecipe
    from domainssl.finetune.splits import load_splits_2d
    from domainssl.modalities import get_modality

    recipe = FinetuneRecipe.load(RECIPES / "tof_classification.yaml", {
        "data.width": budget.width, "data.height": budget.height, "data.train_frames": budget.train_frames,
        "data.val_frames": 0, "data.test_frames": budget.test_frames})
    modality = get_modality("tof", recipe.modality.options)
    splits = load_splits_2d(recipe.data, "classification", modality, fit_stats=True)
    return modality, splits["train"], splits["test"]


def labelled(train, fraction: float, seed: int) -> np.ndarray:
    """Indices of the labelled subset: the same frames the fine-tuning runs of this seed see."""
    from domainssl.data.sampling import subset_indices

    return subset_indices(len(train), fraction, seed, labels=train.targets)


def raw_pixel_knn(budget: Budget) -> list[dict]:
    """kNN accuracy on normalised pixels of the classification test split, labelled subset as memory."""
    import torch
    import torch.nn.functional as F

    from domainssl.evaluate.knn import knn_accuracy

    _, train, test = classification_splits(budget)
    flat_train, flat_test = (F.normalize(torch.from_numpy(s.images).flatten(1), dim=1) for s in (train, test))
    train_y, test_y = torch.from_numpy(train.targets), torch.from_numpy(test.targets)
    rows = []
    for fraction in budget.fractions["classification"]:
        for seed in budget.seeds:
            memory = torch.from_numpy(labelled(train, fraction, seed))
            rows.append({"task": "classification", "init": "raw_pixel_knn", "fraction": fraction, "seed": seed,
                         "steps": 0, "value": knn_accuracy(flat_train[memory], train_y[memory], flat_test, test_y)})
    return rows


def frozen_probes(exports: dict[str, str], budget: Budget) -> list[dict]:
    """kNN and linear-probe test accuracy of frozen backbones on the classification task.

    Per init (random, seeded per seed, and each SSL export) the BatchNorm statistics are recomputed on
    every train frame (unlabelled frames, which the SSL setting has), and the labelled subset of each
    fraction and seed is the kNN memory and the linear probe's training set. Init names in the rows:
    ``"<init> frozen kNN"`` and ``"<init> frozen linear"``.
    """
    import torch

    from domainssl.evaluate.knn import knn_accuracy
    from domainssl.evaluate.probe import frozen_features, linear_probe_accuracy
    from domainssl.export import load_backbone
    from domainssl.models import create_backbone

    modality, train, test = classification_splits(budget)
    train_y, test_y = torch.from_numpy(train.targets), torch.from_numpy(test.targets)
    probes = {"kNN": knn_accuracy, "linear": linear_probe_accuracy}

    def features(backbone) -> list[torch.Tensor]:
        return frozen_features(backbone, train.images, train.images, test.images)  # train N x F, test M x F

    rows = []
    for init, weights in {"random": None, **exports}.items():
        export = None if weights is None else features(load_backbone(weights, in_chans=modality.in_chans))
        for seed in budget.seeds:
            if export is None:
                torch.manual_seed(seed)
                f_train, f_test = features(create_backbone(budget.backbone, modality.in_chans))
            else:  # an export's features do not depend on the seed
                f_train, f_test = export
            for fraction in budget.fractions["classification"]:
                memory = torch.from_numpy(labelled(train, fraction, seed))
                for kind, accuracy in probes.items():
                    rows.append({"task": "classification", "init": f"{init} frozen {kind}", "fraction": fraction,
                                 "seed": seed, "steps": 0,
                                 "value": accuracy(f_train[memory], train_y[memory], f_test, test_y)})
    return rows


class _Inline:
    """An executor that runs each job at once in this process (``--jobs 1``)."""

    def submit(self, fn, *args, **kwargs) -> futures.Future:
        future: futures.Future = futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future

    def __enter__(self) -> "_Inline":
        return self

    def __exit__(self, *exc) -> None:
        return None


def _worker_setup() -> None:
    """One torch thread, and exit when the benchmark process dies (``kill PID`` would otherwise leave
    the workers training for up to an hour)."""
    import torch

    torch.set_num_threads(1)
    parent = multiprocessing.parent_process()  # a pool worker always has one
    threading.Thread(target=_exit_when_closed, args=(parent.sentinel,), daemon=True).start()


def _exit_when_closed(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def executor(jobs: int):
    """``jobs`` worker processes with one torch thread each, or inline execution for ``jobs == 1``."""
    if jobs == 1:
        return _Inline()
    return futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_setup)


def run_benchmark(budget: Budget, out: Path, device: str, methods: list[str], jobs: int = 1,
                  baselines: dict[tuple, dict] | None = None) -> dict:
    """All pretraining and fine-tuning runs; returns ``{"runs": [...], "pilot": [...], "pretrain": {...}}``.

    Pretraining runs start first; random-init runs fill the free workers meanwhile, and each SSL init's
    fine-tuning runs are queued as soon as its export exists. A run whose ``(task, init, fraction, seed, steps)``
    is a key of ``baselines`` (see ``load_baselines``) is not run: that row goes into the runs as it is.
    """
    started = time.perf_counter()
    num_workers = budget.num_workers if jobs == 1 else 0  # pool workers are single-threaded; no loader processes
    pretrain_jobs = [(m, budget.pretrain_steps) for m in methods]
    pretrain_jobs += [("byol", s) for s in budget.pilot_steps if ("byol", s) not in pretrain_jobs]
    seg_fractions = budget.fractions.get("segmentation") or [0.1]
    pilot_fraction = 0.1 if 0.1 in seg_fractions else seg_fractions[0]
    seg_budget = budget if "segmentation" in budget.finetune_steps else Budget()
    seg_steps = seg_budget.steps("segmentation", pilot_fraction)
    submitted: list[tuple[dict, futures.Future]] = []
    reused: list[dict] = []
    by_folder: dict[Path, futures.Future] = {}  # a run asked for twice (pilot = main budget) runs once

    def done(meta: dict, future: futures.Future) -> None:
        value = future.result()["headline"]["value"] if not future.exception() else future.exception()
        print(f"[{time.perf_counter() - started:7.0f}s] {meta['kind']} {meta.get('task', '')} {meta['init']} "
              f"f={meta['fraction']} seed={meta['seed']}: {value}", flush=True)

    def queue(pool, meta: dict, task: str, weights: Path | None, fraction: float, seed: int, steps: int,
                  folder: Path) -> None:
        meta = {**meta, "task": task, "fraction": fraction, "seed": seed, "steps": steps}
        earlier = (baselines or {}).get((task, meta["init"], fraction, seed, steps))
        if earlier is not None:
            reused.append(earlier)
            return
        if folder not in by_folder:
            by_folder[folder] = pool.submit(finetune_run, task, weights, fraction, seed, steps, budget, folder, device)
            by_folder[folder].add_done_callback(lambda f, m=meta: done(m, f))
        submitted.append((meta, by_folder[folder]))

    def runs_of(pool, init: str, weights: Path | None) -> None:
        for task in budget.finetune_steps:
            for fraction in budget.fractions[task]:
                for seed in budget.seeds:
                    queue(pool, {"kind": "run", "init": init}, task, weights, fraction, seed,
                          budget.steps(task, fraction), out / "finetune" / task / f"{init}_f{fraction}_s{seed}")
            if weights is not None and 1.0 in budget.fractions[task]:  # the upper bound's budget, for SSL inits
                for seed in budget.seeds[: budget.equal_budget_seeds]:
                    queue(pool, {"kind": "run", "init": f"{init}{EQUAL_BUDGET}"}, task, weights, 1.0, seed,
                          budget.upper_bound_steps(task), out / "finetune" / task / f"{init}_upper_s{seed}")

    with executor(jobs) as pool:
        exports = {key: pool.submit(pretrain_export, *key, budget, out, device, num_workers) for key in pretrain_jobs}
        runs_of(pool, "random", None)
        for task in budget.finetune_steps:  # supervised-from-scratch upper bound: all labels, longer
            for seed in budget.seeds[: budget.upper_bound_seeds]:
                queue(pool, {"kind": "run", "init": "upper_bound"}, task, None, 1.0, seed,
                      budget.upper_bound_steps(task), out / "finetune" / task / f"upper_s{seed}")
        for (method, steps), export in exports.items():
            weights = export.result()
            elapsed = time.perf_counter() - started
            print(f"[{elapsed:7.0f}s] pretrained {method} for {steps} steps -> {weights}", flush=True)
            if steps == budget.pretrain_steps and method in methods:
                runs_of(pool, method, weights)
            if method == "byol" and steps in budget.pilot_steps:
                main_run = (steps == budget.pretrain_steps and "byol" in methods
                            and "segmentation" in budget.finetune_steps)  # the tables' BYOL runs serve
                for seed in budget.seeds[: budget.pilot_seeds]:
                    folder = (out / "finetune" / "segmentation" / f"byol_f{pilot_fraction}_s{seed}" if main_run
                              else out / "pilot" / f"byol{steps}_f{pilot_fraction}_s{seed}")
                    queue(pool, {"kind": "pilot", "init": f"byol{steps}", "pretrain_steps": steps}, "segmentation",
                          weights, pilot_fraction, seed, seg_steps, folder)
    runs, pilot = list(reused), []
    for meta, future in submitted:
        metrics = future.result()
        if meta["kind"] == "pilot":
            pilot.append({"pretrain_steps": meta["pretrain_steps"], "seed": meta["seed"], "fraction": meta["fraction"],
                          "value": metrics["headline"]["value"]})
        else:
            runs.append(_row(meta["task"], meta["init"], meta["fraction"], meta["seed"], meta["steps"], metrics))
    pretrained = {m: str(exports[(m, budget.pretrain_steps)].result()) for m in methods}
    if "classification" in budget.finetune_steps:
        runs += raw_pixel_knn(budget) + frozen_probes(pretrained, budget)
    return {"runs": runs, "pilot": pilot, "pretrain": pretrained, "pretrain_optim": pretrain_optimisers(pretrained),
            "pretrain_provenance": pretrain_provenance(pretrained),
            "jobs": jobs, "seconds": round(time.perf_counter() - started, 1)}


def pretrain_provenance(exports: dict[str, str]) -> dict[str, dict]:
    """Method -> its pretraining run's ``provenance.json`` (time, machine, export sha256, resolved recipe)."""
    return {method: provenance.read_checked(Path(export).parent) for method, export in exports.items()}


def pretrain_optimisers(exports: dict[str, str]) -> dict[str, dict]:
    """Method -> the optimiser its pretraining run resolved (``name``, ``lr``, ``weight_decay`` from its
    ``config.yaml``), so a report stays readable after a default changes."""
    import yaml

    optimisers = {}
    for method, export in exports.items():
        optim = yaml.safe_load((Path(export).parent / "config.yaml").read_text())["optim"]
        optimisers[method] = {key: optim[key] for key in ("name", "lr", "weight_decay")}
    return optimisers


def _row(task: str, init: str, fraction: float, seed: int, steps: int, metrics: dict) -> dict:
    row = {"task": task, "init": init, "fraction": fraction, "seed": seed, "steps": steps,
           "metric": metrics["headline"]["name"], "value": metrics["headline"]["value"],
           "train_seconds": metrics.get("train_seconds")}
    if task == "detection":
        row["map_50_95"] = metrics["test"]["map_50_95"]
    if task == "classification":
        row["majority_class"] = metrics["test"]["majority_class"]
    return row


def scope(budget: Budget, methods: list[str]) -> list[str]:
    """What this run left out of the full design (so a narrowed run is never read as the full one)."""
    full = Budget()
    left_out = [f"{label}: {', '.join(map(str, missing))}" for label, missing in (
        ("SSL methods", [m for m in METHODS if m not in methods]),
        ("tasks", [t for t in full.finetune_steps if t not in budget.finetune_steps]),
        *((f"label fractions of {task}", [f for f in full.fractions[task] if f not in budget.fractions[task]])
          for task in budget.finetune_steps),
        ("pilot budgets", [s for s in full.pilot_steps if s not in budget.pilot_steps]),
        ("seeds", [s for s in full.seeds if s not in budget.seeds]),
    ) if missing]
    at_full_labels = any(1.0 in budget.fractions[task] for task in budget.finetune_steps)
    for label, ran, wanted in (("upper bound", budget.upper_bound_seeds, True),
                               ("SSL inits at the upper bound's budget", budget.equal_budget_seeds, at_full_labels),
                               ("pilot", budget.pilot_seeds, bool(budget.pilot_steps))):
        if wanted and ran < len(budget.seeds):
            skipped = ", ".join(map(str, budget.seeds[ran:]))
            left_out.append(f"{label} on seeds {skipped} (run on {ran} of {len(budget.seeds)} seeds)")
    if not left_out:
        return ["Scope: the full design.", ""]
    return ["Scope: a narrowed run. Left out of the full design:", "", *[f"- {x}" for x in left_out], ""]


def split_per_task(flag: str, values: list[str], parser: argparse.ArgumentParser) -> tuple[list[str], dict[str, str]]:
    """The values of a per-task flag, split into bare ones (for every task) and ``TASK=value`` ones (task -> value)."""
    bare, by_task = [], {}
    for value in values:
        task, _, text = value.rpartition("=")
        if task not in ("", *TASKS):
            parser.error(f"{flag} {value}: TASK must be one of {', '.join(TASKS)}")
        if task:
            by_task[task] = text
        else:
            bare.append(text)
    return bare, by_task


def finetune_steps(values: list[str], defaults: dict[str, int], default_by_fraction: dict[str, dict[float, int]],
                   parser: argparse.ArgumentParser) -> tuple[dict[str, int], dict[str, dict[float, int]]]:
    """``--finetune-steps`` values applied to the defaults: ``N`` for every task, ``TASK=N`` for one task and
    ``TASK@F=N`` for one label fraction of it; the more specific value wins whatever the order. A task given
    ``N`` or ``TASK=N`` drops its default per-fraction budgets.

    Returns (task -> steps, task -> {fraction -> steps}) for the tasks of ``defaults``.
    """
    per_fraction: dict[str, dict[float, int]] = {}
    for value in values:
        key, _, steps = value.rpartition("=")
        if not steps.isdigit():
            parser.error(f"--finetune-steps {value}: expected N, TASK=N or TASK@F=N")
        if "@" in key:
            task, _, text = key.partition("@")
            fraction = _float_or_none(text)
            if task not in TASKS or fraction is None or not 0.0 < fraction <= 1.0:
                parser.error(f"--finetune-steps {value}: TASK@F=N needs TASK in {', '.join(TASKS)} and 0 < F <= 1")
            per_fraction.setdefault(task, {})[fraction] = int(steps)
    bare, by_task = split_per_task("--finetune-steps", [v for v in values if "@" not in v], parser)
    steps = {task: int(by_task.get(task) or (bare[-1] if bare else default)) for task, default in defaults.items()}
    by_fraction = {task: {**({} if bare or task in by_task else default_by_fraction.get(task, {})),
                          **per_fraction.get(task, {})} for task in steps}
    return steps, {task: fractions for task, fractions in by_fraction.items() if fractions}


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def label_fractions(values: list[str], defaults: dict[str, list[float]],
                    parser: argparse.ArgumentParser) -> dict[str, list[float]]:
    """``--fractions`` values (``F`` for every task, ``TASK=F,F,...`` for one, which wins) applied to ``defaults``.

    Returns task -> sorted label fractions for the tasks of ``defaults``.
    """
    def parse(text: str) -> list[float]:
        fractions = [_float_or_none(x) for x in text.split(",")]
        if not all(f is not None and 0.0 < f <= 1.0 for f in fractions):
            parser.error(f"--fractions {text}: expected F or TASK=F,F,... with 0 < F <= 1")
        return sorted(set(fractions))

    bare, by_task = split_per_task("--fractions", values, parser)
    shared = sorted({f for text in bare for f in parse(text)})
    return {task: parse(by_task[task]) if task in by_task else shared or fractions
            for task, fractions in defaults.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny budgets: an end-to-end smoke run in minutes")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default runs/bench or runs/bench-quick)")
    parser.add_argument("--doc", type=Path, help="report to write; its plots and results.json go to the folder of the "
                        "same name (default docs/benchmarks.md; with --quick OUT/benchmarks.md)")
    parser.add_argument("--from-results", type=Path, metavar="RESULTS_JSON",
                        help="run nothing: write the report again from the results.json of an earlier run (default "
                             "--doc: the report beside the file's folder, e.g. docs/benchmarks/byol_2000/results.json "
                             "-> docs/benchmarks/byol_2000.md)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, help="number of seeds (default 5, quick 2)")
    parser.add_argument("--backbone", help="timm backbone (default resnet18, quick resnet10t)")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), help="downstream tasks (default all three)")
    parser.add_argument("--fractions", nargs="+", metavar="[TASK=]F[,F...]", help="label fractions: F for every "
                        "task, or TASK=F,F,... per task, e.g. 0.1 classification=0.01,0.1,1 (default 0.01 0.1 1.0)")
    parser.add_argument("--pretrain-steps", type=int, help="SSL pretraining optimiser steps (default 2000)")
    parser.add_argument("--finetune-steps", nargs="+", metavar="[TASK[@F]=]N", help="fine-tuning optimiser steps: N "
                        "for every task, TASK=N per task, TASK@F=N for one label fraction, e.g. segmentation=600 "
                        "segmentation@1=2400 classification=400; TASK@1=N also sets the upper bound (2 x N); "
                        "N or TASK=N replaces a task's defaults (segmentation 1200, detection 1500, both 2400 at "
                        "100 %% labels; classification 800)")
    parser.add_argument("--pilot-steps", nargs="*", type=int, help="BYOL budgets of the pilot (default 500 2000 8000; "
                        "give the flag alone to skip the pilot)")
    parser.add_argument("--pilot-seeds", type=int, help="seeds of each pilot budget (default all)")
    parser.add_argument("--upper-bound-seeds", type=int, help="seeds of the all-labels upper bound (default all)")
    parser.add_argument("--equal-budget-seeds", type=int, help="seeds on which each SSL init with all labels also "
                        "fine-tunes for the upper bound's steps (default all; 0 skips them)")
    parser.add_argument("--finetune-precision", choices=["auto", "bf16", "fp32"], default="auto",
                        help="fine-tuning precision (default auto: bf16 where the hardware runs it natively, a "
                             "GPU or a CPU with AVX512-BF16 or AMX, else fp32; the published reports used bf16)")
    parser.add_argument("--baselines-from", type=Path, metavar="RESULTS_JSON",
                        help="take the random-init and upper-bound runs from the results.json of an earlier run with "
                             "the same backbone, frame size, splits and precision instead of running them again, "
                             "e.g. docs/benchmarks/seg100_simclr/results.json (the report names the file)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once; with N > 1 each run gets one torch thread (default 1)")
    args = parser.parse_args(argv)
    if args.from_results:
        results = load_results(args.from_results, parser)
        publish(results, budget_from_json(results["budget"]), args.doc or args.from_results.parent.with_suffix(".md"))
        return

    budget = replace(QUICK) if args.quick else Budget()  # a copy: main sets its fields
    if args.seeds:
        budget.seeds = list(range(args.seeds))
    if args.backbone:
        budget.backbone = args.backbone
    tasks = {t: n for t, n in budget.finetune_steps.items() if t in (args.tasks or TASKS)}
    budget.finetune_steps, budget.steps_by_fraction = finetune_steps(args.finetune_steps or [], tasks,
                                                                     budget.steps_by_fraction, parser)
    budget.fractions = label_fractions(args.fractions or [], {t: budget.fractions[t] for t in budget.finetune_steps},
                                       parser)
    for task, by_fraction in budget.steps_by_fraction.items():
        unused = [f for f in by_fraction if f not in (*budget.fractions[task], 1.0)]  # @1 also sets the upper bound
        if unused:
            parser.error(f"--finetune-steps {task}@{unused[0]:g}: {task} runs at label fractions "
                         f"{', '.join(f'{f:g}' for f in budget.fractions[task])} only (see --fractions)")
    budget.pretrain_steps = args.pretrain_steps or budget.pretrain_steps
    budget.finetune_precision = finetune_precision(args.finetune_precision, args.device)
    budget.pilot_steps = budget.pilot_steps if args.pilot_steps is None else args.pilot_steps
    budget.pilot_seeds = args.pilot_seeds if args.pilot_seeds is not None else len(budget.seeds)
    budget.upper_bound_seeds = args.upper_bound_seeds if args.upper_bound_seeds is not None else len(budget.seeds)
    budget.equal_budget_seeds = args.equal_budget_seeds if args.equal_budget_seeds is not None else len(budget.seeds)
    out = args.out or REPO / "runs" / ("bench-quick" if args.quick else "bench")
    if args.quick:
        os.environ.setdefault("DOMAINSSL_CACHE", str(out / "cache"))
    arguments = sys.argv[1:] if argv is None else argv
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO), *arguments])
    baselines = None
    if args.baselines_from:
        baselines = load_baselines(args.baselines_from, budget, parser)
        print(f"{len(baselines)} random-init and upper-bound runs in {args.baselines_from}: those asked for are not "
              "run again", flush=True)
    results = run_benchmark(budget, out, args.device, args.methods, args.jobs, baselines)
    results.update(command=command, machine=report.machine(args.jobs), quick=args.quick, budget=asdict(budget))
    doc = args.doc or (out / "benchmarks.md" if args.quick else REPO / "docs" / "benchmarks.md")
    publish(results, budget, doc, out)


def publish(results: dict, budget: Budget, doc: Path, out: Path | None = None) -> None:
    """``doc``, and beside it (``docs/benchmarks.md`` -> ``docs/benchmarks/``) the PNG plots and ``results.json``;
    a copy of ``results.json`` in the run folder ``out`` too."""
    folder = doc.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / report.RESULTS] + ([out / report.RESULTS] if out else [])
    for path in written:
        path.write_text(json.dumps(results, indent=1))
    png = report.plots(results, budget, folder)
    report.write_report(results, budget, doc, png, scope(budget, list(results["pretrain"])))
    print("\n".join(report.tables(results, budget)))
    print(f"wrote {doc}, {', '.join(map(str, png + written))}")


def finetune_precision(asked: str, device: str) -> str:
    """``bf16`` or ``fp32``: ``auto`` is bf16 where the hardware runs it natively, else fp32 (an AVX2-only CPU
    emulates bf16 some 50x slower; each fine-tune asked for bf16 there warns, see ``domainssl.device``)."""
    from domainssl.device import native_bf16, resolve_device

    if asked != "auto":
        return asked
    return "bf16" if native_bf16(resolve_device(device)) else "fp32"


def load_results(path: Path, parser: argparse.ArgumentParser, flag: str = "--from-results") -> dict:
    """The ``results.json`` that ``publish`` wrote; a parser error (naming ``flag`` and what is missing) otherwise."""
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        parser.error(f"{flag} {path}: {error}")
    missing = [k for k in ("runs", "pilot", "pretrain", "jobs", "seconds", "budget", "command", "machine", "quick")
               if k not in results]
    if missing:
        parser.error(f"{flag} {path}: no {', '.join(missing)} in it (an older ssl_vs_scratch.py wrote only "
                     "the runs to OUT/results.json); add these keys, or rerun the benchmark to write a complete one")
    return results


def load_baselines(path: Path, budget: Budget, parser: argparse.ArgumentParser) -> dict[tuple, dict]:
    """``(task, init, fraction, seed, steps) -> row`` of the random-init and upper-bound runs in the results.json
    at ``path``, each row marked ``reused_from``; a parser error when its fine-tuning settings differ from
    ``budget``'s."""
    results = load_results(path, parser, "--baselines-from")
    earlier = results["budget"]
    changed = [f"{key} {earlier[key]} (this run: {getattr(budget, key)})" for key in FINETUNE_SETTINGS
               if earlier[key] != getattr(budget, key)]
    if changed:
        parser.error(f"--baselines-from {path}: its runs were fine-tuned with other settings: {', '.join(changed)}")
    source = report.from_repo(path)
    return {(r["task"], r["init"], r["fraction"], r["seed"], r["steps"]): {**r, "reused_from": source}
            for r in results["runs"] if r["init"] in BASELINES}


def budget_from_json(values: dict) -> Budget:
    """The ``Budget`` that ``asdict`` wrote to JSON (which turned the label fractions of ``steps_by_fraction`` into
    strings)."""
    by_fraction = {task: {float(f): n for f, n in steps.items()} for task, steps in values["steps_by_fraction"].items()}
    return Budget(**{**values, "steps_by_fraction": by_fraction})


if __name__ == "__main__":
    main()
