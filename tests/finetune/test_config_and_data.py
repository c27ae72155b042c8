"""Fine-tuning recipes validate and name the key of a bad value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domainssl.errors import ConfigError
from domainssl.finetune.config import FinetuneRecipe

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


def test_3d_patch_size_must_match_the_encoder_stride():
    from domainssl.errors import ConfigError
    from domainssl.finetune.config import FinetuneRecipe
    from domainssl.finetune.volume import VolumeSegmentation3D

    recipe_path = next(p for p in RECIPES if p.stem == "volume_segmentation_3d")
    recipe = FinetuneRecipe.load(recipe_path, {"data.patch_size": 48})
    with pytest.raises(ConfigError, match="data.patch_size: 48 must be a multiple of 32"):
        VolumeSegmentation3D(recipe).build_model("resnet10", 1, 3, weights=None)
