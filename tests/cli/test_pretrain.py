import csv
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from domainssl.cli import main

COMMON = ["--steps", "3", "--batch-size", "8", "--image-size", "32", "--device", "cpu", "--num-workers", "0", "--quiet"]


def _rows(run):
    with open(run / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("method", ["byol", "simsiam", "moco", "simclr"])
def test_pretrain_each_method_then_resume(method, gray16_dir, tmp_path):
    run = tmp_path / method
    args = ["pretrain", "--modality", "gray", "--data", str(gray16_dir), "--method", method, "--out", str(run), *COMMON]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (run / "checkpoints" / "last.pt").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["method"]["name"] == method
    assert [r["step"] for r in _rows(run)] == ["1", "2", "3"]

    args[args.index("--steps") + 1] = "5"
    result = CliRunner().invoke(main, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert [r["step"] for r in _rows(run)] == ["1", "2", "3", "4", "5"]


def test_set_and_recipe_reach_the_resolved_config(gray16_dir, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: {name: gray}\nmethod: {name: simclr, temperature: 0.1}\ntrain: {batch_size: 4}\n")
    run = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "pretrain", "--recipe", str(recipe), "--data", str(gray16_dir), "--out", str(run), *COMMON,
        "--set", "method.temperature=0.3", "--set", "optim.name=sgd",
    ])
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["method"]["temperature"] == 0.3  # --set beats the recipe
    assert resolved["train"]["batch_size"] == 8  # the flag beats the recipe
    assert resolved["optim"]["name"] == "sgd" and resolved["modality"]["mean"] is not None


def test_bad_set_key_is_a_clean_error(gray16_dir, tmp_path):
    result = CliRunner().invoke(main, ["pretrain", "--modality", "gray", "--data", str(gray16_dir),
                                       "--set", "method.temprature=1", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown key(s) ['temprature']" in result.output and "Traceback" not in result.output


def test_missing_data_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(main, ["pretrain", "--modality", "gray", "--data", str(tmp_path / "nope"),
                                       "--out", str(tmp_path / "run"), *COMMON])
    assert result.exit_code == 1 and "no such file or folder" in result.output


def test_help_shows_examples_and_info_lists_registries():
    runner = CliRunner()
    help_text = runner.invoke(main, ["pretrain", "--help"]).output
    assert "Examples:" in help_text and "--resume" in help_text and "--set" in help_text
    info = runner.invoke(main, ["info"])
    assert info.exit_code == 0
    for word in ("torch", "timm", "device", "gray", "byol", "simsiam", "moco", "simclr"):
        assert word in info.output


@pytest.mark.slow
def test_installed_console_script_runs_in_a_subprocess(gray16_dir, tmp_path):
    run = tmp_path / "sub"
    script = [str(Path(sys.executable).with_name("domainssl")), "pretrain", "--modality", "gray", "--data", str(gray16_dir),
              "--out", str(run), *COMMON]
    done = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Run directory" in done.stdout and len(_rows(run)) == 3


@pytest.mark.slow
def test_sigterm_leaves_a_checkpoint_that_resume_continues(gray16_dir, tmp_path):
    import signal
    import time

    import torch

    run = tmp_path / "term"
    exe = str(Path(sys.executable).with_name("domainssl"))
    args = [exe, "pretrain", "--modality", "gray", "--data", str(gray16_dir), "--out", str(run), "--steps", "500",
            "--batch-size", "8", "--image-size", "32", "--device", "cpu", "--num-workers", "0", "--quiet",
            "--set", "train.log_every=1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not ((run / "metrics.csv").is_file() and len(_rows(run)) >= 2):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "continue with --resume" in err
    stopped_at = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert 2 <= stopped_at < 500

    args[args.index("--steps") + 1] = str(stopped_at + 2)
    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [int(r["step"]) for r in _rows(run)] == list(range(1, stopped_at + 3))


def test_resume_with_only_out_reuses_the_saved_config(gray16_dir, tmp_path):
    run = tmp_path / "run"
    first = CliRunner().invoke(main, ["pretrain", "--modality", "gray", "--data", str(gray16_dir), "--method", "simsiam",
                                      "--out", str(run), *COMMON])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, ["pretrain", "--out", str(run), "--steps", "5", "--resume", "--quiet"])
    assert again.exit_code == 0, again.output
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["modality"]["name"] == "gray" and resolved["method"]["name"] == "simsiam"
    assert [r["step"] for r in _rows(run)] == ["1", "2", "3", "4", "5"]
