import hashlib
import json
import shutil

import pytest
import torch
from click.testing import CliRunner

from domainssl.api import make_config
from domainssl.cli import main
from domainssl.errors import TooManyBadFiles
from domainssl.train.loop import pretrain
from domainssl.train.metrics_log import read_metrics


def _config(data, out, **extra):
    overrides = {
        "modality.name": "gray", "data.paths": [str(data)], "data.image_size": 32, "data.num_workers": 0,
        "train.batch_size": 8, "train.steps": 5, "train.out": str(out), "train.device": "cpu",
        "train.evaluate": False, "model.backbone": "resnet18",
    }
    overrides.update(extra)
    return make_config(overrides=overrides)


def test_resume_from_a_checkpoint_reproduces_the_uninterrupted_run(gray16_dir, tmp_path):
    straight = tmp_path / "straight"
    pretrain(_config(gray16_dir, straight, **{"train.checkpoint_every": 3}), progress=False)
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(straight / "checkpoints" / "step_3.pt", resumed / "checkpoints" / "last.pt")
    pretrain(_config(gray16_dir, resumed, **{"train.checkpoint_every": 3}), resume=True, progress=False)

    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(resumed / "checkpoints" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 5
    for key, value in a["method"].items():
        assert torch.equal(value, b["method"][key]), key
    rows = read_metrics(resumed / "metrics.csv")
    assert [r["step"] for r in rows] == [4, 5]  # this folder only logged the resumed steps
    assert rows[-1]["loss"] == read_metrics(straight / "metrics.csv")[-1]["loss"]
    assert (straight / "metrics.png").stat().st_size > 10_000  # the loss/lr/collapse plot


def test_too_many_bad_files_stops_with_their_names(gray16_dir, tmp_path):
    (gray16_dir / "corrupt.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(TooManyBadFiles, match="corrupt.png"):
        pretrain(_config(gray16_dir, tmp_path / "run", **{"train.steps": 10}), progress=False)


def test_bad_files_under_the_limit_are_skipped_and_counted(gray16_dir, tmp_path):
    (gray16_dir / "corrupt.png").write_bytes(b"\x89PNG broken")
    run = tmp_path / "run"
    pretrain(_config(gray16_dir, run, **{"train.steps": 6, "data.max_bad_fraction": 0.5}), progress=False)
    rows = read_metrics(run / "metrics.csv")
    assert len(rows) == 6 and rows[-1]["bad_files"] == 1


def test_the_export_from_memory_equals_domainssl_export_of_the_run(gray16_dir, tmp_path):
    run = tmp_path / "run"
    result = pretrain(_config(gray16_dir, run, **{"model.backbone": "resnet10t", "train.steps": 2}), progress=False)
    assert result.export_dir == run / "export"
    cli = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "from_disk")])
    assert cli.exit_code == 0, cli.output
    digest = {d: hashlib.sha256((d / "model.safetensors").read_bytes()).hexdigest() for d in (run / "export", tmp_path / "from_disk")}
    assert digest[run / "export"] == digest[tmp_path / "from_disk"]
    in_memory, from_disk = ((d / "config.json").read_text() for d in (run / "export", tmp_path / "from_disk"))
    assert in_memory == from_disk  # byte for byte
    record = json.loads(in_memory)["domainssl"]
    assert (record["steps"], record["checkpoint"], record["spatial_dims"], record["format"]) == (2, "last.pt", 2, "timm")
