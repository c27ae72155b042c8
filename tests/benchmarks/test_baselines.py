"""``--baselines-from``: random-init and upper-bound runs taken from an earlier results.json, not run again."""

import argparse
import dataclasses
import json

import pytest

EARLIER_RUNS = [{"task": "segmentation", "init": init, "fraction": 1.0, "seed": seed, "steps": 2400,
                 "metric": "miou", "value": value, "train_seconds": 1800.0}
                for init, values in (("random", [0.58, 0.59]), ("simclr", [0.63, 0.64]))
                for seed, value in enumerate(values)]


def _budget(bench, **changes):
    return bench.Budget(finetune_steps={"segmentation": 2400}, fractions={"segmentation": [1.0]}, pilot_steps=[],
                        upper_bound_seeds=0, equal_budget_seeds=0, **changes)


def _earlier_results(bench, tmp_path, **budget_changes):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": EARLIER_RUNS, "pilot": [], "pretrain": {"simclr": "x/export"}, "jobs": 2,
                                "seconds": 3600.0, "budget": dataclasses.asdict(_budget(bench, **budget_changes)),
                                "command": "python benchmarks/ssl_vs_scratch.py", "machine": "test", "quick": False}))
    return path


def test_only_the_baseline_runs_are_taken_and_each_names_its_file(bench, tmp_path):
    baselines = bench.load_baselines(_earlier_results(bench, tmp_path), _budget(bench), argparse.ArgumentParser())
    assert sorted(baselines) == [("segmentation", "random", 1.0, 0, 2400), ("segmentation", "random", 1.0, 1, 2400)]
    assert baselines[("segmentation", "random", 1.0, 1, 2400)]["value"] == 0.59
    assert {row["reused_from"] for row in baselines.values()} == {str(tmp_path / "results.json")}


def test_baselines_fine_tuned_with_other_settings_are_refused_by_name(bench, tmp_path, capsys):
    earlier = _earlier_results(bench, tmp_path, width=64)
    with pytest.raises(SystemExit):
        bench.load_baselines(earlier, _budget(bench), argparse.ArgumentParser())
    error = capsys.readouterr().err
    assert f"--baselines-from {earlier}: its runs were fine-tuned with other settings: width 64 (this run: 128)" \
        in error


def test_the_benchmark_runs_only_the_seeds_the_earlier_file_lacks(bench, tmp_path, monkeypatch):
    ran = []

    def fake_finetune(task, weights, fraction, seed, steps, budget, out, device):
        ran.append(seed)
        return {"headline": {"name": "miou", "value": 0.6}, "train_seconds": 10.0}

    monkeypatch.setattr(bench, "finetune_run", fake_finetune)
    budget = _budget(bench, seeds=[0, 1, 2])
    baselines = bench.load_baselines(_earlier_results(bench, tmp_path), budget, argparse.ArgumentParser())
    results = bench.run_benchmark(budget, tmp_path / "out", "cpu", [], jobs=1, baselines=baselines)
    assert ran == [2]
    assert [(r["seed"], r["value"], "reused_from" in r) for r in results["runs"]] == [
        (0, 0.58, True), (1, 0.59, True), (2, 0.6, False)]


def test_the_report_names_the_taken_runs_and_leaves_their_time_out(bench, report, tmp_path):
    baselines = bench.load_baselines(_earlier_results(bench, tmp_path), _budget(bench), argparse.ArgumentParser())
    fresh = {**EARLIER_RUNS[2], "train_seconds": 3600.0}
    results = {"runs": [*baselines.values(), fresh], "pilot": [], "pretrain": {"simclr": "x/export"}, "jobs": 2,
               "seconds": 3600.0, "command": "python benchmarks/ssl_vs_scratch.py", "machine": "test", "quick": False}
    doc = tmp_path / "report.md"
    report.write_report(results, _budget(bench, seeds=[0, 1]), doc, [], [])
    text = doc.read_text()
    assert "fine-tuning loops of the tables: 1.0 h of training time in all" in text
    assert f"Taken from `{tmp_path / 'results.json'}` instead of run again" in text
    assert "2 runs of init random" in text
