import pytest

from domainssl.config import RunConfig, apply_overrides, parse_set
from domainssl.errors import ConfigError


def test_defaults_resolve_and_round_trip(tmp_path):
    cfg = RunConfig.resolve({}, {"modality.name": "gray"})
    assert cfg.modality.name == "gray" and cfg.method.name == "byol"
    cfg.save(tmp_path / "c.yaml")
    again = RunConfig.load(tmp_path / "c.yaml")
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
        RunConfig.resolve({}, {"modality.name": "gray", "train.stepz": 3})
    with pytest.raises(ConfigError, match=r"unknown section"):
        RunConfig.resolve({"modality": {"name": "gray"}, "method": {"name": "byol"}, "trian": {}})


def test_bad_values_name_key_and_allowed_values():
    with pytest.raises(ConfigError, match=r"train.device: 'gpu' is not allowed; choose one of \['auto', 'cpu', 'cuda'\]"):
        RunConfig.resolve({}, {"modality.name": "gray", "train.device": "gpu"})
    with pytest.raises(ConfigError, match="train.batch_size: expected an integer"):
        RunConfig.resolve({}, {"modality.name": "gray", "train.batch_size": "big"})
    with pytest.raises(ConfigError, match=r"method.name: 'dino' is not registered; allowed: \[.*byol"):
        RunConfig.resolve({}, {"modality.name": "gray", "method.name": "dino"})
    with pytest.raises(ConfigError, match=r"method: unknown key\(s\) \['temperatur'\]"):
        RunConfig.resolve({}, {"modality.name": "gray", "method.name": "simclr", "method.temperatur": 1})


def test_changing_the_method_drops_the_old_methods_options():
    recipe = {"modality": {"name": "gray"}, "method": {"name": "simclr", "temperature": 0.1}}
    cfg = RunConfig.resolve(apply_overrides(recipe, {"method.name": "byol"}))
    assert cfg.method.name == "byol"
    same = RunConfig.resolve(apply_overrides(recipe, {"method.temperature": 0.3}))
    assert same.method.temperature == 0.3


def test_missing_recipe_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        RunConfig.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        RunConfig.load(bad)


def test_a_recipe_is_merged_onto_the_defaults_and_overrides_win(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("method: {name: simclr, temperature: 0.3}\ntrain: {steps: 7}\n")
    cfg = RunConfig.load(path, {"train.steps": 9})
    assert (cfg.modality.name, cfg.method.name, cfg.method.temperature, cfg.train.steps) == ("tof", "simclr", 0.3, 9)


def test_eval_frames_are_two_positive_counts():
    assert RunConfig.resolve({}, {"train.eval_frames": [20, 10]}).train.eval_frames == [20, 10]
    with pytest.raises(ConfigError, match=r"train.eval_frames: \[5\] must be \[train, val\]"):
        RunConfig.resolve({}, {"train.eval_frames": [5]})
