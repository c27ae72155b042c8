"""``domainssl finetune`` and ``domainssl eval knn|linear`` through click's CliRunner; the linear probe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from domainssl.data.synthetic import write_dataset
from domainssl.evaluate.probe import linear_probe_accuracy
from domainssl.finetune.cli import eval_command, finetune_command

from .conftest import TINY_2D

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "finetune" / "tof_segmentation.yaml"
SETS = [arg for key, value in TINY_2D.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


def test_finetune_command_writes_metrics_and_prints_the_headline(tof_export, tmp_path):
    out = tmp_path / "seg"
    result = CliRunner().invoke(finetune_command, [str(RECIPE), "--weights", str(tof_export), "--steps", "1",
                                                   "--out", str(out), "--device", "cpu", "--seed", "2", *SETS])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert result.output.strip().endswith(f"miou: {metrics['headline']['value']:.4f}")
    assert metrics["seed"] == 2 and metrics["steps"] == 1 and (out / "model.pt").is_file()


def test_finetune_command_reports_user_errors_cleanly(tmp_path):
    runner = CliRunner()
    bad_key = runner.invoke(finetune_command, [str(RECIPE), "--set", "train.bogus=1"])
    assert bad_key.exit_code == 1 and "unknown key(s) ['bogus']" in bad_key.output
    no_export = runner.invoke(finetune_command, [str(RECIPE), "--weights", str(tmp_path / "missing")])
    assert no_export.exit_code == 1 and "no such folder" in no_export.output
    no_data = runner.invoke(finetune_command, [str(RECIPE), "--data", str(tmp_path)])
    assert no_data.exit_code == 1 and "missing subfolder(s) ['train', 'test']" in no_data.output
    assert "Examples:" in runner.invoke(finetune_command, ["--help"]).output


def test_eval_knn_and_linear_on_a_labelled_folder(tof_export, tmp_path):
    folder = write_dataset(tmp_path / "object", n=15, scene="object", width=64, height=48, seed=5)
    for kind in ("knn", "linear"):
        result = CliRunner().invoke(eval_command, [kind, "--weights", str(tof_export), "--data", str(folder), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["kind"] == kind and 0.0 <= report["accuracy"] <= 1.0
        assert report["num_train"] + report["num_val"] == 15 and report["num_val"] == 5  # 30 % of each class
    missing = CliRunner().invoke(eval_command, ["knn", "--weights", str(tof_export), "--data", str(tmp_path)])
    assert missing.exit_code == 1 and "labels.csv" in missing.output


def test_linear_probe_separates_separable_features_and_not_noise():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(90) % 3
    centres = torch.randn(3, 16, generator=g) * 3
    feats = centres[labels] + torch.randn(90, 16, generator=g)  # 90 x 16, well separated
    assert linear_probe_accuracy(feats[:60], labels[:60], feats[60:], labels[60:]) > 0.95
    noise = torch.randn(90, 16, generator=g)
    assert linear_probe_accuracy(noise[:60], labels[:60], noise[60:], labels[60:]) < 0.7
    assert np.isclose(linear_probe_accuracy(feats[:60], labels[:60], feats[:60], labels[:60]), 1.0)
