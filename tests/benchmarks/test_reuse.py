"""The benchmark reuses a finished pretraining run only when it was trained with the settings it asks for."""

import dataclasses
from pathlib import Path

import pytest

from domainssl.api import make_config
from domainssl.train.optim import with_resolved_optim

OVERRIDES = {"modality.name": "tof", "method.name": "moco", "train.batch_size": 128, "train.steps": 20,
             "train.out": "runs/a"}
TODAY = with_resolved_optim(make_config(overrides=OVERRIDES)).optim
MOCO_V2_PAPER = {"name": "sgd", "lr": 0.015, "weight_decay": 1e-4}  # MoCo's default before it became AdamW


def _saved_run(tmp_path, **optim):
    """``config.yaml`` as the training loop writes it: the optimiser resolved today, or as given in ``optim``."""
    config = with_resolved_optim(make_config(overrides=OVERRIDES))
    config = dataclasses.replace(config, optim=dataclasses.replace(config.optim, **optim))
    path = tmp_path / "config.yaml"
    config.save(path)
    return path


def test_a_run_with_todays_settings_is_reused_wherever_it_ran(bench, tmp_path):
    saved = _saved_run(tmp_path)
    assert bench.changed_settings(saved, {**OVERRIDES, "train.out": "elsewhere", "train.device": "cpu"}) == []


def test_a_run_from_before_a_default_changed_is_named_with_both_values(bench, tmp_path):
    saved = _saved_run(tmp_path, **MOCO_V2_PAPER)
    assert bench.changed_settings(saved, OVERRIDES) == [
        f"optim.{key}: {value!r} -> {getattr(TODAY, key)!r}" for key, value in MOCO_V2_PAPER.items()]
    assert bench.changed_settings(saved, {**OVERRIDES, "method.momentum": 0.999})[0] == "method.momentum: 0.99 -> 0.999"


def test_pretrain_export_refuses_a_stale_run(bench, tmp_path):
    run_dir = tmp_path / "pretrain" / "moco_20"
    (run_dir / "export").mkdir(parents=True)
    (run_dir / "export" / "config.json").write_text("{}")
    config = make_config(overrides={**OVERRIDES, "model.backbone": "resnet10t", "data.image_size": 32})
    config.save(run_dir / "config.yaml")  # optim left at "auto": not what the loop would have run
    budget = bench.Budget(backbone="resnet10t", pretrain_image_size=32)
    stale = f"moco_20 was pretrained with other settings.*optim.name: 'auto' -> '{TODAY.name}'"
    with pytest.raises(RuntimeError, match=stale):
        bench.pretrain_export("moco", 20, budget, tmp_path, "cpu", 0)


def test_the_optimiser_each_run_resolved_is_read_from_its_config(bench, tmp_path):
    (tmp_path / "export").mkdir()
    _saved_run(tmp_path, **MOCO_V2_PAPER)
    assert bench.pretrain_optimisers({"moco": str(tmp_path / "export")}) == {"moco": MOCO_V2_PAPER}


def _finished_run(bench, tmp_path, budget) -> Path:
    """A run directory as ``pretrain_export`` leaves it, with today's settings: config.yaml and an export."""
    run_dir = tmp_path / "pretrain" / "moco_20"
    (run_dir / "export").mkdir(parents=True)
    (run_dir / "export" / "config.json").write_text("{}")
    (run_dir / "export" / "model.safetensors").write_bytes(b"weights")
    overrides = {"modality.name": "tof", "method.name": "moco", "model.backbone": budget.backbone,
                 "data.image_size": budget.pretrain_image_size, "data.synthetic_frames": budget.pretrain_frames,
                 "train.batch_size": budget.pretrain_batch, "train.steps": 20, "train.evaluate": False}
    with_resolved_optim(make_config(overrides=overrides)).save(run_dir / "config.yaml")
    return run_dir


def test_pretrain_export_reuses_a_run_only_with_its_provenance_and_weights(bench, tmp_path):
    budget = bench.Budget(backbone="resnet10t", pretrain_image_size=32)
    run_dir = _finished_run(bench, tmp_path, budget)
    with pytest.raises(RuntimeError, match="no provenance.json"):
        bench.pretrain_export("moco", 20, budget, tmp_path, "cpu", 0)
    record = bench.provenance.write(run_dir, seconds=12.34)
    assert record["pretrain_seconds"] == 12.3 and record["isa"] and "moco" in record["resolved_config"]
    assert bench.pretrain_export("moco", 20, budget, tmp_path, "cpu", 0) == run_dir / "export"
    (run_dir / "export" / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(RuntimeError, match="is not the export provenance.json recorded"):
        bench.pretrain_export("moco", 20, budget, tmp_path, "cpu", 0)
