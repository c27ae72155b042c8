import pytest

from domainssl.config import apply_overrides, load_recipe, parse_set, resolve_config
from domainssl.errors import ConfigError


def test_defaults_resolve_and_round_trip(tmp_path):
    cfg = resolve_config(load_recipe(None), {"modality.name": "gray"})
    assert cfg.modality.name == "gray" and cfg.method.name == "byol"
    cfg.save(tmp_path / "c.yaml")
    again = resolve_config(load_recipe(tmp_path / "c.yaml"))
    assert again.to_dict() == cfg.to_dict()


def test_set_parses_yaml_values():
    assert parse_set(["method.temperature=0.2", "modality.channels=[depth,valid]", "train.steps=5"]) == {
        "method.temperature": 0.2,
        "modality.channels": ["depth", "valid"],
        "train.steps": 5,
    }
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set(["steps"])


def test_unknown_key_names_key_and_allowed_keys():
    with pytest.raises(ConfigError, match=r"train: unknown key\(s\) \['stepz'\].*allowed keys:.*steps"):
        resolve_config(load_recipe(None), {"modality.name": "gray", "train.stepz": 3})
    with pytest.raises(ConfigError, match=r"unknown section"):
        resolve_config({"modality": {"name": "gray"}, "method": {"name": "byol"}, "trian": {}})


def test_bad_values_name_key_and_allowed_values():
    with pytest.raises(ConfigError, match=r"train.device: 'gpu' is not allowed; choose one of \['auto', 'cpu', 'cuda'\]"):
        resolve_config(load_recipe(None), {"modality.name": "gray", "train.device": "gpu"})
    with pytest.raises(ConfigError, match="train.batch_size: expected an integer"):
        resolve_config(load_recipe(None), {"modality.name": "gray", "train.batch_size": "big"})
    with pytest.raises(ConfigError, match=r"method.name: 'dino' is not registered; allowed: \[.*byol"):
        resolve_config(load_recipe(None), {"modality.name": "gray", "method.name": "dino"})
    with pytest.raises(ConfigError, match=r"method: unknown key\(s\) \['temperatur'\]"):
        resolve_config(load_recipe(None), {"modality.name": "gray", "method.name": "simclr", "method.temperatur": 1})


def test_changing_the_method_drops_the_old_methods_options():
    recipe = {"modality": {"name": "gray"}, "method": {"name": "simclr", "temperature": 0.1}}
    cfg = resolve_config(apply_overrides(recipe, {"method.name": "byol"}))
    assert cfg.method.name == "byol"
    same = resolve_config(apply_overrides(recipe, {"method.temperature": 0.3}))
    assert same.method.temperature == 0.3


def test_missing_recipe_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_recipe(bad)
