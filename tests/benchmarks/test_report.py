"""The SSL-vs-scratch benchmark's report: paired differences, the pilot gap and the scope of a narrowed run."""

import pytest


def _results():
    random = [0.30, 0.32, 0.34]
    byol = [0.33, 0.36, 0.36]  # paired differences +0.03, +0.04, +0.02
    runs = [{"task": "segmentation", "init": init, "fraction": 0.1, "seed": seed, "steps": 600, "metric": "miou",
             "value": value} for init, values in (("random", random), ("byol", byol)) for seed, value in enumerate(values)]
    runs.append({"task": "segmentation", "init": "upper_bound", "fraction": 1.0, "seed": 0, "steps": 1200,
                 "metric": "miou", "value": 0.5})
    pilot = [{"pretrain_steps": 250, "seed": seed, "fraction": 0.1, "value": random[seed] - 0.01} for seed in range(3)]
    return {"runs": runs, "pilot": pilot, "pretrain": {"byol": "x/export"}, "jobs": 1, "seconds": 1.0}


def _budget(bench):
    return bench.Budget(finetune_steps={"segmentation": 600}, fractions={"segmentation": [0.1]}, seeds=[0, 1, 2],
                        pilot_steps=[250], pilot_seeds=3, upper_bound_seeds=1)


def test_paired_table_reports_the_mean_difference_its_std_and_wins(bench, report):
    text = "\n".join(report.tables(_results(), _budget(bench)))
    assert "| random | 0.320 ± 0.020 |" in text
    assert "| byol | +0.030 ± 0.010 (3/3 wins, mean/std +3.0) |" in text
    assert "Upper bound (random init, all labels, 1200 steps): 0.500 ± 0.000 over 1 seed(s)." in text


def test_detection_table_adds_map_50_95_of_the_same_runs(bench, report):
    runs = [{"task": "detection", "init": init, "fraction": 0.1, "seed": seed, "steps": 1200, "metric": "map_50",
             "value": value, "map_50_95": value / 2}
            for init, values in (("random", [0.20, 0.24]), ("byol", [0.26, 0.30])) for seed, value in enumerate(values)]
    runs.append({"task": "detection", "init": "upper_bound", "fraction": 1.0, "seed": 0, "steps": 2400,
                 "metric": "map_50", "value": 0.6, "map_50_95": 0.4})
    budget = bench.Budget(finetune_steps={"detection": 1200}, fractions={"detection": [0.1]}, seeds=[0, 1])
    text = "\n".join(report.tables({"runs": runs, "pretrain": {"byol": "x/export"}}, budget))
    head, tail = text.split("mAP@0.5:0.95")
    assert "| byol | 0.280 ± 0.028 |" in head
    assert "| random | 0.110 ± 0.014 |" in tail and "| byol | 0.140 ± 0.014 |" in tail
    assert "Upper bound (random init, all labels, 2400 steps): 0.600 ± 0.000 (map_50_95 0.400 ± 0.000) over 1 seed(s)." in text
    paired = text.split("Paired difference to random init")[1]
    assert "| byol | +0.060 ± 0.000 (2/2 wins" in paired.split("map_50_95 of the same pairs:")[0]
    assert "| byol | +0.030 ± 0.000 (2/2 wins" in paired.split("map_50_95 of the same pairs:")[1]
    assert "to the upper bound" not in text  # no 100 % column to pair it with


def test_full_labels_are_paired_with_the_upper_bound_of_the_seeds_it_ran_on(bench, report):
    runs = [{"task": "detection", "init": init, "fraction": 1.0, "seed": seed, "steps": 2400, "metric": "map_50",
             "value": value, "map_50_95": value - 0.2}
            for init, values in (("random", [0.56, 0.58, 0.57]), ("byol", [0.62, 0.63, 0.60]))
            for seed, value in enumerate(values)]
    runs += [{"task": "detection", "init": "upper_bound", "fraction": 1.0, "seed": seed, "steps": 4800,
              "metric": "map_50", "value": value, "map_50_95": value - 0.1} for seed, value in ((0, 0.57), (2, 0.56))]
    budget = bench.Budget(finetune_steps={"detection": 2400}, fractions={"detection": [1.0]}, seeds=[0, 1, 2])
    text = "\n".join(report.tables({"runs": runs, "pretrain": {"byol": "x/export"}}, budget))
    upper = text.split("to the upper bound of the same seed (4800 steps), over the 2 seed(s) it ran on:")[1]
    assert "| init | Δ map_50 | Δ map_50_95 |" in upper
    # seeds 0 and 2: random -0.010 and +0.010, byol +0.050 and +0.040; map_50_95 0.1 lower for the runs
    assert "| random | +0.000 ± 0.014 (1/2 wins, mean/std +0.0) | -0.100 ± 0.014 (0/2 wins" in upper
    assert "| byol | +0.045 ± 0.007 (2/2 wins, mean/std +6.4) | -0.055 ± 0.007 (0/2 wins" in upper


def test_ssl_inits_at_the_upper_bounds_budget_are_paired_with_it(bench, report):
    runs = [{"task": "segmentation", "init": init, "fraction": 1.0, "seed": seed, "steps": steps, "metric": "miou",
             "value": value}
            for init, steps, values in (("random", 2400, [0.58, 0.59]), ("byol", 2400, [0.60, 0.61]),
                                        ("upper_bound", 4800, [0.59, 0.60]), ("byol_equal_budget", 4800, [0.61, 0.63]))
            for seed, value in enumerate(values)]
    budget = bench.Budget(finetune_steps={"segmentation": 2400}, fractions={"segmentation": [1.0]}, seeds=[0, 1])
    text = "\n".join(report.tables({"runs": runs, "pretrain": {"byol": "x/export"}}, budget))
    assert "byol with all labels at the upper bound's budget (4800 steps): 0.620 ± 0.014 over 2 seed(s)." in text
    upper = text.split('rows "INIT, 4800 steps" fine-tune that init for as long (equal budgets):')[1]
    assert "| byol | +0.010 ± 0.000 (2/2 wins" in upper
    assert "| byol, 4800 steps | +0.025 ± 0.007 (2/2 wins, mean/std +3.5) |" in upper
    assert "byol_equal_budget" not in text.split("Paired difference to random init")[0]  # not a row of the means


@pytest.mark.parametrize("jobs", [1, 2])
def test_machine_states_the_threads_each_run_had(report, jobs):
    assert ("1 in each of the 2 job processes" in report.machine(jobs)) == (jobs == 2)


def test_the_report_is_written_again_from_the_results_json_beside_it(bench, tmp_path):
    budget = _budget(bench)
    budget.steps_by_fraction = {"segmentation": {1.0: 1200}}  # float keys: JSON turns them into strings
    results = {**_results(), "command": "python x", "machine": "CPU", "quick": False, "budget": bench.asdict(budget)}
    (tmp_path / "run").mkdir()
    doc = tmp_path / "report.md"
    bench.publish(results, budget, doc, tmp_path / "run")
    saved = tmp_path / "report" / "results.json"
    assert saved.read_text() == (tmp_path / "run" / "results.json").read_text()
    assert "[report/results.json](report/results.json)" in doc.read_text()
    first = doc.read_text()
    doc.unlink()
    bench.main(["--from-results", str(saved)])  # default --doc: the report beside the file's folder
    assert doc.read_text() == first
    assert "+0.030 ± 0.010 (3/3 wins" in first and "Command: `python x`" in first


def test_budget_survives_its_json_round_trip(bench):
    budget = bench.Budget()
    assert bench.budget_from_json(bench.json.loads(bench.json.dumps(bench.asdict(budget)))) == budget


def test_results_without_the_command_are_refused_with_the_keys_to_add(bench, tmp_path, capsys):
    old = tmp_path / "results.json"
    old.write_text(bench.json.dumps({**_results(), "budget": bench.asdict(_budget(bench))}))
    with pytest.raises(SystemExit):
        bench.main(["--from-results", str(old)])
    assert "no command, machine, quick in it" in capsys.readouterr().err


def test_quick_writes_its_report_to_the_run_folder_not_docs(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "run_benchmark", lambda *args: _results())
    bench.main(["--quick", "--tasks", "segmentation", "--fractions", "0.1", "--out", str(tmp_path)])
    assert (tmp_path / "benchmarks.md").read_text().startswith(
        "# SSL init vs random init on the synthetic ToF world (--quick smoke run: NOT a measurement)")
    assert (tmp_path / "benchmarks" / "results.json").exists()
    assert bench.QUICK.fractions["segmentation"] == [0.1, 1.0]  # the module's quick budget is left as it was


def test_pilot_table_gives_the_paired_gap_per_budget(report):
    text = "\n".join(report.pilot_table(_results()))
    assert "| 250 | 0.310 ± 0.020 | -0.010 ± 0.000 |" in text


def test_scope_names_what_a_narrowed_run_left_out(bench):
    lines = bench.scope(_budget(bench), ["byol"])
    text = "\n".join(lines)
    assert "SSL methods: simsiam, moco, simclr" in text
    assert "tasks: detection, classification" in text
    assert "label fractions of segmentation: 0.01, 1.0" in text
    assert "seeds: 3, 4" in text
    assert "upper bound on seeds 1, 2 (run on 1 of 3 seeds)" in text
    assert "pilot on seeds" not in text  # the pilot ran on all 3 seeds
    assert "upper bound's budget" not in text  # no 100 % labels, so no equal-budget runs were due
    at_full_labels = bench.Budget(fractions={t: [1.0] for t in bench.TASKS}, equal_budget_seeds=2)
    assert "- SSL inits at the upper bound's budget on seeds 2, 3, 4 (run on 2 of 5 seeds)" in bench.scope(
        at_full_labels, list(bench.METHODS))
    full = bench.Budget()
    assert bench.scope(full, list(bench.METHODS)) == ["Scope: the full design.", ""]


def test_finetune_steps_accepts_one_number_or_per_task_values(bench):
    parser = bench.argparse.ArgumentParser()
    defaults = {"segmentation": 1200, "classification": 800}
    assert bench.finetune_steps(["600"], defaults, {}, parser) == ({"segmentation": 600, "classification": 600}, {})
    assert bench.finetune_steps(["segmentation=600", "detection=300"], defaults, {}, parser)[0] == {
        "segmentation": 600, "classification": 800}  # a task left out of --tasks stays out
    assert bench.finetune_steps(["segmentation=600", "400"], defaults, {}, parser)[0] == {
        "segmentation": 600, "classification": 400}  # TASK=N wins over a bare N whatever the order
    for bad in ("depth=600", "segmentation@x=600", "segmentation@1.5=600", "depth@1=600", "segmentation@1=x"):
        with pytest.raises(SystemExit):
            bench.finetune_steps([bad], defaults, {}, parser)


def test_finetune_steps_per_label_fraction_win_for_that_fraction_and_set_the_upper_bound(bench, report):
    parser = bench.argparse.ArgumentParser()
    defaults = {"segmentation": 1200, "classification": 800}
    steps, by_fraction = bench.finetune_steps(["segmentation@1=2400", "600", "detection@1=9"], defaults, {}, parser)
    assert (steps, by_fraction) == ({"segmentation": 600, "classification": 600}, {"segmentation": {1.0: 2400}})
    default = {"segmentation": {1.0: 2400}}
    assert bench.finetune_steps([], defaults, default, parser)[1] == default
    assert bench.finetune_steps(["classification=400"], defaults, default, parser)[1] == default
    for drop in (["segmentation=600"], ["600"]):  # the user set the task's budget: its defaults per fraction go
        assert bench.finetune_steps(drop, defaults, default, parser)[1] == {}
    assert bench.finetune_steps(["600", "segmentation@0.1=900"], defaults, default, parser)[1] == {
        "segmentation": {0.1: 900}}
    budget = bench.Budget(finetune_steps=steps, steps_by_fraction=by_fraction,
                          fractions={"segmentation": [0.1, 1.0], "classification": [0.1, 1.0]})
    assert [budget.steps("segmentation", f) for f in (0.1, 1.0)] == [600, 2400]
    assert [budget.steps("classification", f) for f in (0.1, 1.0)] == [600, 600]
    assert (budget.upper_bound_steps("segmentation"), budget.upper_bound_steps("classification")) == (4800, 1200)
    del budget.finetune_steps["classification"]  # _results() holds segmentation runs only
    text = "\n".join(report.tables(_results(), budget))
    assert "Fine-tuning: 600 optimiser steps at 10% labels; 2400 optimiser steps at 100% labels." in text
    text = "\n".join(report.tables(_results(), _budget(bench)))
    assert "Fine-tuning: 600 optimiser steps at every label fraction." in text


def test_full_design_trains_dense_tasks_longer_with_all_labels_but_the_documented_command_does_not(bench):
    full = bench.Budget()
    assert [full.upper_bound_steps(t) for t in ("segmentation", "detection", "classification")] == [4800, 4800, 1600]
    documented = ["segmentation=600", "classification=400", "detection=1200"]  # docs/benchmarks.md's command
    steps, by_fraction = bench.finetune_steps(documented, full.finetune_steps, full.steps_by_fraction,
                                              bench.argparse.ArgumentParser())
    budget = bench.Budget(finetune_steps=steps, steps_by_fraction=by_fraction)
    assert [budget.upper_bound_steps(t) for t in ("segmentation", "detection", "classification")] == [1200, 2400, 800]


def test_benchmark_queues_each_label_fraction_with_its_own_budget(bench, tmp_path, monkeypatch):
    calls = []

    def fake_finetune_run(task, weights, fraction, seed, steps, budget, out, device):
        calls.append((out.name, steps))
        return {"headline": {"name": "miou", "value": 0.5}}

    monkeypatch.setattr(bench, "finetune_run", fake_finetune_run)
    monkeypatch.setattr(bench, "pretrain_export", lambda method, steps, *rest: tmp_path / f"{method}_{steps}")
    monkeypatch.setattr(bench, "pretrain_optimisers", lambda exports: {})  # no run folders behind the fake exports
    monkeypatch.setattr(bench, "pretrain_provenance", lambda exports: {})
    budget = bench.Budget(finetune_steps={"segmentation": 600}, steps_by_fraction={"segmentation": {1.0: 2400}},
                          fractions={"segmentation": [0.1, 1.0]}, seeds=[0], pilot_steps=[100], upper_bound_seeds=1)
    bench.run_benchmark(budget, tmp_path, "cpu", ["byol"])
    assert sorted(calls) == [("byol100_f0.1_s0", 600), ("byol_f0.1_s0", 600), ("byol_f1.0_s0", 2400),
                             ("byol_upper_s0", 4800), ("random_f0.1_s0", 600), ("random_f1.0_s0", 2400),
                             ("upper_s0", 4800)]


def test_a_per_fraction_budget_for_a_fraction_that_is_not_run_is_an_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--tasks", "segmentation", "--fractions", "0.1", "--finetune-steps", "segmentation@0.01=900"])
    assert "segmentation runs at label fractions 0.1 only" in capsys.readouterr().err


def test_label_fractions_accepts_shared_and_per_task_values(bench):
    parser = bench.argparse.ArgumentParser()
    defaults = {"segmentation": [0.01, 0.1, 1.0], "classification": [0.01, 0.1, 1.0]}
    assert bench.label_fractions(["0.1"], defaults, parser) == {"segmentation": [0.1], "classification": [0.1]}
    assert bench.label_fractions(["0.1", "classification=1,0.01,0.1"], defaults, parser) == {
        "segmentation": [0.1], "classification": [0.01, 0.1, 1.0]}
    assert bench.label_fractions(["segmentation=0.1"], defaults, parser) == {
        "segmentation": [0.1], "classification": [0.01, 0.1, 1.0]}
    for bad in ("depth=0.1", "1.5", "classification=", "0.1,x"):
        with pytest.raises(SystemExit):
            bench.label_fractions([bad], defaults, parser)


def test_a_finished_run_of_other_steps_is_not_reused(bench, tmp_path):
    (tmp_path / "metrics.json").write_text('{"steps": 400, "architecture": "resnet18", "headline": {"value": 0.7}}')
    budget = bench.Budget()
    assert bench.finetune_run("classification", None, 0.1, 0, 400, budget, tmp_path, "cpu")["headline"]["value"] == 0.7
    with pytest.raises(RuntimeError, match="400 steps"):
        bench.finetune_run("classification", None, 0.1, 0, 600, budget, tmp_path, "cpu")


def test_classification_table_adds_the_frozen_probes(bench, report):
    results = {"runs": [{"task": "classification", "init": init, "fraction": 0.1, "seed": seed, "steps": 400,
                         "metric": "accuracy", "value": 0.5 + seed / 10, "majority_class": 0.2}
                        for init in ("random", "byol") for seed in range(2)], "pilot": [], "pretrain": {"byol": "x"}}
    results["runs"] += [{"task": "classification", "init": f"{init} frozen {kind}", "fraction": 0.1, "seed": seed,
                         "steps": 0, "value": 0.4} for init in ("random", "byol") for kind in ("kNN", "linear")
                        for seed in range(2)]
    budget = bench.Budget(finetune_steps={"classification": 400}, fractions={"classification": [0.1]}, seeds=[0, 1])
    text = "\n".join(report.tables(results, budget))
    assert "| byol frozen linear | 0.400 ± 0.000 |" in text
    assert "| random frozen kNN | 0.400 ± 0.000 |" in text
    assert "| byol | +0.000 ± 0.000 (0/2 wins" in text  # the paired Δ stays fine-tuned vs fine-tuned


def test_report_names_each_methods_pretraining_optimiser_when_recorded(report):
    optimisers = {"byol": {"name": "adamw", "lr": 0.001, "weight_decay": 0.05},
                  "simsiam": {"name": "sgd", "lr": 0.025, "weight_decay": 0.0001}}
    assert report.optimiser_lines({"pretrain_optim": optimisers}) == [
        "Pretraining optimisers: byol adamw (lr 0.001, weight decay 0.05); simsiam sgd (lr 0.025, weight decay 0.0001).",
        ""]
    assert report.optimiser_lines({}) == []  # results.json written before the optimisers were recorded


def test_machine_names_the_cpu_capability_that_decides_bf16_speed(report, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert ", AVX512;" in report.machine(1)
