"""Recipes validate; label subsets and batch order are reproducible and independent of the weights."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from domainssl.errors import ConfigError
from domainssl.finetune.config import FinetuneRecipe
from domainssl.finetune.data import batch_schedule, flip_draws, subset_indices

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes" / "finetune").glob("*.yaml"))


def test_all_five_recipes_ship_and_are_documented():
    names = {p.stem for p in RECIPES}
    assert names == {"tof_segmentation", "tof_detection", "tof_classification",
                     "volume_segmentation_2p5d", "volume_segmentation_3d"}
    for path in RECIPES:
        header = path.read_text().split("\ntask:")[0]
        for word in ("Task:", "Metric:", "Data:"):
            assert word in header, f"{path.name} lacks '{word}' in its header"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipes_load_and_take_overrides(path):
    recipe = FinetuneRecipe.load(path, {"train.steps": 7, "train.label_fraction": 0.1})
    assert recipe.train.steps == 7 and recipe.train.label_fraction == 0.1
    assert recipe.to_dict()["task"]["name"] == recipe.task.name


@pytest.mark.parametrize("override, fragment", [
    ({"train.bogus": 1}, "unknown key(s) ['bogus']"),
    ({"train.label_fraction": 0.0}, "label_fraction"),
    ({"task.name": "tracking"}, "task.name"),
    ({"train.steps": "many"}, "train.steps"),
    ({"modality.bogus": 1}, "modality: unknown key(s) ['bogus']"),  # typed like a pretraining recipe
    ({"modality.name": "sonar"}, "modality.name: 'sonar' is not registered"),
])
def test_bad_recipe_values_name_the_key(override, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        FinetuneRecipe.load(RECIPES[0], override)


def test_label_subset_is_reproducible_nested_and_seed_dependent():
    a, b = subset_indices(1000, 0.1, seed=3), subset_indices(1000, 0.1, seed=3)
    assert np.array_equal(a, b) and len(a) == 100 and len(np.unique(a)) == 100
    assert not np.array_equal(a, subset_indices(1000, 0.1, seed=4))
    assert set(subset_indices(1000, 0.01, seed=3)) <= set(a)  # 1 % inside 10 %
    assert len(subset_indices(50, 0.001, seed=0)) == 1  # never empty


def test_stratified_subset_keeps_every_class():
    labels = np.repeat(np.arange(5), 40)  # 200 frames, 5 classes
    picks = subset_indices(200, 0.01, seed=0, labels=labels)
    assert sorted(labels[picks].tolist()) == [0, 1, 2, 3, 4]
    picks = subset_indices(200, 0.5, seed=0, labels=labels)
    assert np.bincount(labels[picks]).tolist() == [20] * 5


def test_batch_order_and_flips_depend_only_on_the_seed():
    one = [idx.tolist() for _, idx in batch_schedule(10, 4, 7, seed=5)]
    two = [idx.tolist() for _, idx in batch_schedule(10, 4, 7, seed=5)]
    assert one == two and len(one) == 7 and all(len(b) == 4 for b in one)
    assert one != [idx.tolist() for _, idx in batch_schedule(10, 4, 7, seed=6)]
    epoch = sum(one[:2], [])  # two full batches of one epoch: no repeats
    assert len(set(epoch)) == 8
    assert np.array_equal(flip_draws(5, 3, 16), flip_draws(5, 3, 16))
    assert [len(b) for _, b in batch_schedule(3, 8, 2, seed=0)] == [3, 3]  # subset smaller than a batch


def test_3d_patch_size_must_match_the_encoder_stride():
    from domainssl.errors import ConfigError
    from domainssl.finetune.config import FinetuneRecipe
    from domainssl.finetune.volume import VolumeSegmentation3D

    recipe_path = next(p for p in RECIPES if p.stem == "volume_segmentation_3d")
    recipe = FinetuneRecipe.load(recipe_path, {"data.patch_size": 48})
    with pytest.raises(ConfigError, match="data.patch_size: 48 must be a multiple of 32"):
        VolumeSegmentation3D(recipe).build_model("resnet10", 1, 3, weights=None)
