"""Every recipe runs end to end in smoke mode, from a fresh export and from random init."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from domainssl.finetune import FinetuneRecipe, finetune
from domainssl.finetune.run import get_task

from .conftest import TINY_2D, TINY_VOLUME

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "finetune"


def _run(out: Path, steps: int, seed: int = 0) -> dict:
    """Dotted keys of one small CPU run writing to ``out``."""
    return {"train.out": str(out), "train.steps": steps, "train.seed": seed, "train.device": "cpu"}


def _finite_numbers(tree) -> list[float]:
    if isinstance(tree, dict):
        return [v for value in tree.values() for v in _finite_numbers(value)]
    return [float(tree)] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def _check_outputs(out: Path, metrics: dict, headline: str) -> None:
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == metrics
    assert saved["headline"]["name"] == headline
    assert 0.0 <= saved["headline"]["value"] <= 1.0
    assert all(math.isfinite(v) for v in _finite_numbers(saved["test"]))
    ckpt = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    assert ckpt["metrics"]["headline"] == saved["headline"] and len(ckpt["model"]) > 10


@pytest.mark.parametrize("name, headline", [("tof_segmentation", "miou"), ("tof_classification", "accuracy"),
                                            ("tof_detection", "map_50")])
def test_2d_recipes_from_export_and_from_scratch(name, headline, tof_export, tmp_path):
    if name == "tof_detection":
        pytest.importorskip("pycocotools", reason="torchmetrics MeanAveragePrecision needs pycocotools")
    runs = {}
    for weights in (tof_export, "none"):
        out = tmp_path / str(weights != "none")
        runs[weights] = finetune(RECIPES / f"{name}.yaml", weights=weights, verbose=False, overrides={
            **TINY_2D, **_run(out, steps=2, seed=1), "train.label_fraction": 0.5})
        _check_outputs(out, runs[weights], headline)
    ssl, scratch = runs[tof_export], runs["none"]
    assert ssl["weights"] == str(tof_export) and scratch["weights"] == "none"
    assert ssl["num_train_labelled"] == scratch["num_train_labelled"] < 16  # half, per class for classification
    assert ssl["train_subset_sha1"] == scratch["train_subset_sha1"]  # paired: the same labelled frames
    assert ssl["modality"]["mean"] == [0.45]  # the export's normalisation, not refitted


def test_linear_probe_mode_freezes_the_backbone(tof_export, tmp_path):
    metrics = finetune(RECIPES / "tof_classification.yaml", weights=tof_export, verbose=False,
                       overrides={**TINY_2D, **_run(tmp_path, steps=2), "task.mode": "linear"})
    state = torch.load(tmp_path / "model.pt", weights_only=True)["model"]
    exported = load_file(str(Path(tof_export) / "model.safetensors"))
    conv = "backbone.conv1.0.weight"
    assert torch.equal(state[conv], exported["conv1.0.weight"])  # frozen: unchanged by training
    assert metrics["recipe"]["task"]["mode"] == "linear"


def test_another_seed_draws_another_label_subset(tmp_path):
    a, b = (finetune(RECIPES / "tof_classification.yaml", weights="none", verbose=False, overrides={
        **TINY_2D, **_run(tmp_path / str(seed), steps=1, seed=seed), "train.label_fraction": 0.5}) for seed in (0, 1))
    assert a["train_subset_sha1"] != b["train_subset_sha1"]


def test_the_log_shows_each_tenth_of_the_steps_with_the_time_left(tmp_path, capsys):
    finetune(RECIPES / "tof_classification.yaml", weights="none", overrides={**TINY_2D, **_run(tmp_path, steps=3)})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith("step ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all(" s elapsed, about " in line for line in lines)
    assert lines[-1].endswith("about 0 s left")


def test_a_seed_repeats_a_detection_run_whatever_the_callers_random_state(tmp_path):
    """The detector samples anchors and RoIs while training: those draws follow --seed, not the process."""
    pytest.importorskip("pycocotools", reason="torchmetrics MeanAveragePrecision needs pycocotools")
    runs = []
    for caller_seed in (1, 2):
        torch.manual_seed(caller_seed)
        caller_state = torch.get_rng_state()
        runs.append(finetune(RECIPES / "tof_detection.yaml", weights="none", verbose=False,
                             overrides={**TINY_2D, **_run(tmp_path / "run", steps=3, seed=0)}))
        assert torch.equal(torch.get_rng_state(), caller_state)  # the caller's random state is left alone
    assert runs[0]["final_loss"] == runs[1]["final_loss"] and runs[0]["test"] == runs[1]["test"]


@pytest.mark.parametrize("task_name", ["tof_segmentation", "tof_classification", "tof_detection"])
def test_backbones_load_the_export_exactly_and_heads_start_equal(task_name, tof_export):
    recipe = FinetuneRecipe.load(RECIPES / f"{task_name}.yaml", TINY_2D)
    task = get_task(recipe)
    exported = load_file(str(Path(tof_export) / "model.safetensors"))
    models = {}
    for weights in (Path(tof_export), None):
        torch.manual_seed(0)  # what finetune() does before building
        models[weights] = task.build_model("resnet10t", 1, 6, weights)
    encoder = task.encoder(models[Path(tof_export)]).state_dict()
    assert set(exported) <= set(encoder) and all(torch.equal(encoder[k], v) for k, v in exported.items())
    assert not torch.equal(task.encoder(models[None]).state_dict()["conv1.0.weight"], exported["conv1.0.weight"])
    heads = [_head_state(task, m) for m in models.values()]
    assert heads[0] and heads[0].keys() == heads[1].keys()
    assert all(torch.equal(heads[0][k], heads[1][k]) for k in heads[0])  # paired runs: same head init


def _head_state(task, model) -> dict[str, torch.Tensor]:
    """State entries outside the backbone (decoder, FPN, RPN, heads)."""
    encoder = task.encoder(model)
    prefix = next(f"{name}." for name, module in model.named_modules() if module is encoder)
    return {k: v for k, v in model.state_dict().items() if not k.startswith(prefix)}


@pytest.mark.parametrize("recipe, export", [("volume_segmentation_2p5d", "ct25d_export"),
                                            ("volume_segmentation_3d", "ct3d_export")])
def test_volume_recipes_from_export_and_from_scratch(recipe, export, request, tmp_path):
    weights = request.getfixturevalue(export)
    overrides = {**TINY_VOLUME, "model.backbone": "resnet10t" if recipe.endswith("2p5d") else "resnet10"}
    for w in (weights, "none"):
        out = tmp_path / str(w != "none")
        metrics = finetune(RECIPES / f"{recipe}.yaml", weights=w, verbose=False,
                           overrides={**overrides, **_run(out, steps=1)})
        _check_outputs(out, metrics, "dice")
        assert metrics["num_train_labelled"] == 2
        assert set(metrics["test"]) >= {"dice", "dice_soft_tissue", "dice_organ"}
