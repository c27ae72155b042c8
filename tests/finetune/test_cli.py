"""``domainssl finetune`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from domainssl.cli.finetune import finetune_command

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


def test_a_nan_loss_is_one_line(tmp_path):
    result = CliRunner().invoke(finetune_command, [str(RECIPE), "--steps", "2", "--out", str(tmp_path), "--device",
                                                   "cpu", *SETS, "--set", "train.lr=.nan"])
    assert result.exit_code == 1 and "the loss is nan; lower train.lr" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, no traceback
