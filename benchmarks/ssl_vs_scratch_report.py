"""The report of ``ssl_vs_scratch.py``: Markdown tables with paired differences, PNG plots and the report file.

``results`` is what ``ssl_vs_scratch.run_benchmark`` returns: ``{"runs": [row, ...], "pilot": [...], "pretrain":
{method: export}, "pretrain_optim": {method: {"name", "lr", "weight_decay"}}, "jobs": N, "seconds": S}`` (results
from before ``pretrain_optim`` was recorded lack it), one row per run with ``task``, ``init``, ``fraction``, ``seed``,
``steps``, ``metric`` and its ``value`` (detection rows add ``map_50_95``; rows taken from an earlier results.json
with ``--baselines-from`` add ``reused_from``, that file). ``budget`` is its ``Budget``.
``ssl_vs_scratch.main`` adds ``command``, ``machine`` (see ``machine``), ``quick`` and ``budget`` to it and saves it all
to the ``results.json`` beside the report, so the report can be written again without running anything.
An SSL init's all-labels runs at the upper bound's steps have the init name ``<method>`` + ``EQUAL_BUDGET``.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

EQUAL_BUDGET = "_equal_budget"
RESULTS = "results.json"  # every run's values, in the folder of the report's plots


def tables(results: dict, budget) -> list[str]:
    """Markdown tables per task: mean ± std per init and fraction, the paired differences to random init and,
    at 100 % labels, to the all-labels upper bound."""
    lines = []
    for task in budget.finetune_steps:
        rows = [r for r in results["runs"] if r["task"] == task]
        metric = next(r.get("metric") for r in rows if r.get("metric"))
        fractions = budget.fractions[task]
        keys = ["value", "map_50_95"] if task == "detection" else ["value"]  # the headline, and mAP@0.5:0.95
        inits = ["random", *results["pretrain"]] + (["raw_pixel_knn"] if task == "classification" else [])
        lines += [f"### {task} ({metric}, test split)", "", _steps_line(budget, task), "",
                  *_mean_table(rows, inits, fractions, "value")]
        if task == "classification":
            majority = [r["majority_class"] for r in rows if "majority_class" in r]
            lines.append("| majority class | " + " | ".join([_mean_std(majority)] * len(fractions)) + " |")
            frozen = [f"{init} frozen {kind}" for kind in ("kNN", "linear")
                      for init in ["random", *results["pretrain"]]]
            if any(r["init"] in frozen for r in rows):
                lines += ["", "Frozen backbones, no fine-tuning: BatchNorm statistics recomputed on every (unlabelled) "
                          "train frame; the labelled subset is the kNN memory (k = 20) and the linear probe's "
                          "training set; random init seeded per seed:", "",
                          *_mean_table(rows, frozen, fractions, "value")]
        if task == "detection":
            lines += ["", "mAP@0.5:0.95 (map_50_95, test split) of the same runs:", "",
                      *_mean_table(rows, inits, fractions, "map_50_95")]
        upper = [r for r in rows if r["init"] == "upper_bound"]
        if upper:
            lines += ["", _summary("Upper bound", upper, "random init, all labels, ")]
            for init in results["pretrain"]:
                equal = [r for r in rows if r["init"] == init + EQUAL_BUDGET]
                if equal:
                    lines += ["", _summary(f"{init} with all labels at the upper bound's budget", equal)]
        lines += _paired_to_random(rows, list(results["pretrain"]), fractions, keys, len(budget.seeds))
        if upper and 1.0 in fractions:
            lines += _paired_to_upper_bound(rows, ["random", *results["pretrain"]], keys, metric, upper)
        lines.append("")
    return lines


def _summary(label: str, runs: list[dict], detail: str = "") -> str:
    """One line: ``label``, the runs' steps, mean ± std of their headline (and mAP@0.5:0.95) and the seed count."""
    map_50_95 = f" (map_50_95 {_mean_std([r['map_50_95'] for r in runs])})" if "map_50_95" in runs[0] else ""
    return (f"{label} ({detail}{runs[0]['steps']} steps): {_mean_std([r['value'] for r in runs])}{map_50_95} "
            f"over {len(runs)} seed(s).")


def _paired_to_random(rows: list[dict], inits: list[str], fractions: list[float], keys: list[str],
                      seeds: int) -> list[str]:
    """Markdown: per ``key``, the paired difference of each init to random init per label fraction."""
    lines = ["", f"Paired difference to random init (same seed, subset, batch order), mean ± std over {seeds} seeds, "
             "wins, and mean / std (the goal is > 2 at 10 % labels):", ""]
    for key in keys:
        if key != "value":
            lines += ["", f"{key} of the same pairs:", ""]
        lines += _markdown_table([f"Δ at {f:.0%}" for f in fractions], {
            init: [_paired_cell(by_seed(rows, init, f, key), by_seed(rows, "random", f, key)) for f in fractions]
            for init in inits})
    return lines


def _paired_to_upper_bound(rows: list[dict], inits: list[str], keys: list[str], metric: str,
                           upper: list[dict]) -> list[str]:
    """Markdown: each init at 100 % labels minus the ``upper`` bound run of the same seed, one column per ``key``;
    an SSL init's runs at the upper bound's budget (``EQUAL_BUDGET``) follow its own row."""
    steps = upper[0]["steps"]
    names = {name: label for init in inits
             for name, label in ((init, init), (init + EQUAL_BUDGET, f"{init}, {steps} steps"))
             if any(r["init"] == name for r in rows)}
    equal = (f"; rows \"INIT, {steps} steps\" fine-tune that init for as long (equal budgets)"
             if any(name.endswith(EQUAL_BUDGET) for name in names) else "")
    lines = ["", f"Paired difference at 100 % labels to the upper bound of the same seed ({steps} steps), "
             f"over the {len(upper)} seed(s) it ran on{equal}:", ""]
    return lines + _markdown_table([f"Δ {metric if key == 'value' else key}" for key in keys], {
        label: [_paired_cell(by_seed(rows, name, 1.0, key), by_seed(rows, "upper_bound", 1.0, key)) for key in keys]
        for name, label in names.items()})


def _steps_line(budget, task: str) -> str:
    """The fine-tuning budget of ``task``'s table, per label fraction where they differ."""
    by_steps: dict[int, list[str]] = {}
    for fraction in budget.fractions[task]:
        by_steps.setdefault(budget.steps(task, fraction), []).append(f"{fraction:.0%}")
    if len(by_steps) == 1:
        return f"Fine-tuning: {next(iter(by_steps))} optimiser steps at every label fraction."
    return "Fine-tuning: " + "; ".join(f"{steps} optimiser steps at {', '.join(at)} labels"
                                       for steps, at in by_steps.items()) + "."


def _mean_table(rows: list[dict], inits: list[str], fractions: list[float], key: str) -> list[str]:
    """Markdown rows: mean ± std of ``key`` per init (rows) and label fraction (columns)."""
    return _markdown_table([f"{f:.0%} labels" for f in fractions], {
        init: [_mean_std([r.get(key) for r in rows if r["init"] == init and r["fraction"] == f]) for f in fractions]
        for init in inits})


def _markdown_table(columns: list[str], cells_by_init: dict[str, list[str]]) -> list[str]:
    """Markdown rows of a table with one row per init and the given ``columns``."""
    return ["| init | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns),
            *[f"| {init} | " + " | ".join(cells) + " |" for init, cells in cells_by_init.items()]]


def by_seed(rows: list[dict], init: str, fraction: float, key: str = "value") -> dict[int, float]:
    """Seed -> ``key`` of ``init``'s runs at label ``fraction`` (the rows of one task)."""
    return {r["seed"]: r[key] for r in rows if r["init"] == init and r["fraction"] == fraction}


def _paired_cell(values: dict[int, float], partner: dict[int, float]) -> str:
    """Mean ± std of the paired differences ``values - partner`` over the seeds both have, wins and mean / std."""
    diffs = [value - partner[seed] for seed, value in values.items() if seed in partner]
    if not diffs:
        return "–"
    std = np.std(diffs, ddof=1) if len(diffs) > 1 else 0.0
    ratio = np.mean(diffs) / std if std > 1e-9 else float("nan")  # equal differences differ by rounding only
    return f"{_mean_std(diffs, signed=True)} ({sum(d > 0 for d in diffs)}/{len(diffs)} wins, mean/std {ratio:+.1f})"


def _mean_std(values: list[float], signed: bool = False) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean, std = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{mean:+.3f} ± {std:.3f}" if signed else f"{mean:.3f} ± {std:.3f}"


def plots(results: dict, budget, folder: Path) -> list[Path]:
    """PNG plots: headline vs label fraction per task, and the BYOL pretraining-budget pilot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    tasks = list(budget.finetune_steps)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 5))
    for ax, task in zip(np.atleast_1d(axes), tasks):
        rows = [r for r in results["runs"] if r["task"] == task]
        inits = ["random", *results["pretrain"]] + (["raw_pixel_knn"] if task == "classification" else [])
        fractions = budget.fractions[task]
        single = len(fractions) == 1  # one fraction: one column per init instead of a curve
        for i, init in enumerate(inits):
            values = [[r["value"] for r in rows if r["init"] == init and r["fraction"] == f] for f in fractions]
            x = [i] if single else fractions
            ax.errorbar(x, [np.mean(v) for v in values], yerr=[np.std(v, ddof=1) if len(v) > 1 else 0 for v in values],
                        marker="o", capsize=3, label=init, color=f"C{i}")
            equal = [r["value"] for r in rows if r["init"] == init + EQUAL_BUDGET]
            if equal:  # hollow square: the same init with all labels, fine-tuned as long as the upper bound
                ax.errorbar([i + 0.2] if single else [1.0], [np.mean(equal)], yerr=[np.std(equal, ddof=1)
                            if len(equal) > 1 else 0], marker="s", mfc="none", capsize=3, color=f"C{i}",
                            label=f"{init}, upper bound's steps")
            probe = [[r["value"] for r in rows if r["init"] == f"{init} frozen linear" and r["fraction"] == f]
                     for f in fractions]
            if all(probe) and not single:  # the frozen linear probe of the same init, dashed in its colour
                ax.plot(fractions, [np.mean(v) for v in probe], linestyle="--", marker=".", color=f"C{i}",
                        label="frozen linear probe (dashed)" if i == 0 else None)
        upper = [r["value"] for r in rows if r["init"] == "upper_bound"]
        if upper:
            ax.axhline(np.mean(upper), color="k", linestyle="--", label="upper bound (all labels, longer)")
        if single:
            ax.set_xticks(range(len(inits)), inits, rotation=30, ha="right")
            ax.set(xlim=(-0.5, len(inits) - 0.5),
                   xlabel=f"init ({fractions[0]:.0%} labels, mean ± std over seeds)", ylabel=rows[0]["metric"],
                   title=task)
        else:
            ax.set(xscale="log", xlabel="label fraction", ylabel=rows[0]["metric"], title=task)
        below_axis_label = -0.35 if single else -0.2  # the rotated init names take more room
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, below_axis_label), ncol=3)
    fig.tight_layout()
    paths.append(folder / "label_fractions.png")
    fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)
    if not results["pilot"]:
        return paths

    fig, ax = plt.subplots(figsize=(5, 4))
    gaps = pilot_gaps(results)
    steps = sorted(gaps)
    ax.errorbar(steps, [np.mean(gaps[s]) for s in steps], yerr=[np.std(gaps[s], ddof=1) if len(gaps[s]) > 1 else 0
                for s in steps], marker="o", capsize=3, label="BYOL - random init (paired, mean ± std)")
    ax.axhline(0.0, color="gray", linestyle="--", label="random init")
    ax.set(xscale="log", xticks=steps, xticklabels=[str(s) for s in steps], xlabel="BYOL pretraining steps",
           ylabel="segmentation mIoU gap", title=f"pilot: {results['pilot'][0]['fraction']:.0%} labels")
    ax.minorticks_off()
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(folder / "byol_budget_pilot.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def machine(jobs: int) -> str:
    """Platform, torch, device and threads.

    With ``jobs > 1`` the runs had one thread each (see ``ssl_vs_scratch.executor``).
    """
    import torch

    device = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else f"CPU, {os.cpu_count()} cores, {torch.backends.cpu.get_cpu_capability()}")  # e.g. AVX2, AVX512
    threads = f"torch threads {torch.get_num_threads()}"
    if jobs > 1:
        threads += f" in the main process, 1 in each of the {jobs} job processes that ran pretraining and fine-tuning"
    return f"{platform.platform()}; Python {platform.python_version()}; torch {torch.__version__}; {device}; {threads}"


def pilot_gaps(results: dict) -> dict[int, list[float]]:
    """Per BYOL pilot budget, the paired mIoU differences to random init (same seed and label fraction)."""
    fraction = results["pilot"][0]["fraction"]
    random = by_seed([r for r in results["runs"] if r["task"] == "segmentation"], "random", fraction)
    gaps: dict[int, list[float]] = {}
    for p in results["pilot"]:
        if p["seed"] in random:
            gaps.setdefault(p["pretrain_steps"], []).append(p["value"] - random[p["seed"]])
    return gaps


def pilot_table(results: dict) -> list[str]:
    """BYOL budget pilot: mIoU and the paired gap to random init per pretraining budget."""
    gaps = pilot_gaps(results)
    lines = [f"### Pilot: BYOL pretraining budget ({results['pilot'][0]['fraction']:.0%} labels)", "",
             "| BYOL steps | segmentation mIoU | paired Δ to random init |", "|---|---|---|"]
    for steps in sorted({p["pretrain_steps"] for p in results["pilot"]}):
        values = [p["value"] for p in results["pilot"] if p["pretrain_steps"] == steps]
        lines.append(f"| {steps} | {_mean_std(values)} | {_mean_std(gaps.get(steps, []), signed=True)} |")
    return lines + [""]


def from_repo(path: Path) -> str:
    """``path`` relative to the repository root when inside it (as the commands in the report run), else absolute."""
    path, repo = path.resolve(), Path(__file__).resolve().parents[1]
    return str(path.relative_to(repo) if path.is_relative_to(repo) else path)


def _train_hours(runs: list[dict]) -> float:
    return sum(r.get("train_seconds") or 0.0 for r in runs if "reused_from" not in r) / 3600


def reused_lines(runs: list[dict]) -> list[str]:
    """Which runs came from an earlier results.json (``--baselines-from``) instead of being run."""
    by_source: dict[str, list[dict]] = {}
    for row in runs:
        if "reused_from" in row:
            by_source.setdefault(row["reused_from"], []).append(row)
    lines = [f"Taken from `{source}` instead of run again (`--baselines-from`; a fine-tune is deterministic for its "
             f"seed on a given CPU): {len(rows)} runs of init {', '.join(sorted({r['init'] for r in rows}))}; their "
             "training time is not counted above." for source, rows in by_source.items()]
    return [*lines, ""] if lines else []


def optimiser_lines(results: dict) -> list[str]:
    """The pretraining optimiser of each method (results written before it was recorded have none)."""
    optimisers = results.get("pretrain_optim")
    if not optimisers:
        return []
    described = [f"{method} {o['name']} (lr {o['lr']:g}, weight decay {o['weight_decay']:g})"
                 for method, o in optimisers.items()]
    return [f"Pretraining optimisers: {'; '.join(described)}.", ""]


def write_report(results: dict, budget, doc: Path, png: list[Path], scope: list[str]) -> None:
    """``doc``: the command, machine, wall time, ``scope`` lines, budgets, tables, pilot and ``png`` plots.

    ``results`` carries ``command``, ``machine`` and ``quick`` besides the runs (see the module docstring).
    """
    title = "SSL init vs random init on the synthetic ToF world"
    if results["quick"]:
        title += " (--quick smoke run: NOT a measurement)"
    per_run = doc.with_suffix("") / RESULTS
    link = os.path.relpath(per_run, doc.parent)
    lines = [f"# {title}", "",
             f"Command: `{results['command']}`", "",
             f"Machine: {results['machine']}", "",
             f"Wall time: {results['seconds']:.0f} s (runs reused from an earlier invocation count as 0); "
             f"fine-tuning loops of the tables: {_train_hours(results['runs']):.1f} h of training time in all", "",
             *reused_lines(results["runs"]),
             f"Every run's values: [{link}]({link}); "
             f"`python benchmarks/ssl_vs_scratch.py --from-results {from_repo(per_run)}` writes this report again "
             "from them.", "",
             *scope,
             *optimiser_lines(results),
             "Budgets (optimiser steps):", "", "```json", json.dumps(asdict(budget), indent=1), "```", "",
             *tables(results, budget),
             *(pilot_table(results) if results["pilot"] else []),
             *[f"![{p.stem}]({os.path.relpath(p, doc.parent)})" for p in png], ""]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines))
