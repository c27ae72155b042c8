"""The linear probe, and ``domainssl eval knn|linear`` through click's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner

from domainssl.cli.evaluate import eval_command
from domainssl.data.synthetic import write_dataset
from domainssl.evaluate.probe import linear_probe_accuracy


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
