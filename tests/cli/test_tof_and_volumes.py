"""The ToF and volume entry points as a new user runs them."""

import filecmp
import json

import cv2
import numpy as np
import yaml
from click.testing import CliRunner

from domainssl.cli import main

SMALL = ["--steps", "2", "--batch-size", "4", "--image-size", "32", "--device", "cpu", "--num-workers", "0", "--quiet"]


def test_synth_tof_is_byte_identical_for_the_same_seed(tmp_path):
    runner = CliRunner()
    for name in ("d1", "d2"):
        args = ["synth", "tof", "--out", str(tmp_path / name), "--n", "4", "--size", "64x48", "--seed", "0"]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    cmp = filecmp.dircmp(tmp_path / "d1", tmp_path / "d2")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    for sub in ("depth", "masks/semantic"):
        sub_cmp = filecmp.cmpfiles(tmp_path / "d1" / sub, tmp_path / "d2" / sub,
                                   [p.name for p in (tmp_path / "d1" / sub).iterdir()], shallow=False)
        assert not sub_cmp[1] and not sub_cmp[2]
    depth = cv2.imread(str(next((tmp_path / "d1" / "depth").glob("*.png"))), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.shape == (48, 64)
    coco = json.loads((tmp_path / "d1" / "annotations.json").read_text())
    assert len(coco["images"]) == 4 and coco["annotations"] and coco["categories"]


def test_pretrain_tof_without_data_uses_the_synthetic_world(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["pretrain", "--modality", "tof", "--out", str(run), *SMALL,
                                       "--set", "data.synthetic_frames=16", "--set", "train.eval_frames=[30,15]"])
    assert result.exit_code == 0, result.output
    assert "kNN accuracy on 15 held-out labelled frames" in result.output and "random init" in result.output and "pretrained" in result.output
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert 0.0 <= evaluation["knn_pretrained"] <= 1.0 and len(evaluation["classes"]) >= 4
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["domainssl"]["modality"] == "tof" and config["pretrained_cfg"]["input_size"][0] == 1


def test_pretrain_tof_on_float_metres_npy_with_valid_channel(tmp_path):
    data = tmp_path / "frames"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        depth = rng.uniform(0.5, 4.0, size=(48, 64)).astype(np.float32)
        depth[rng.random((48, 64)) < 0.1] = np.nan  # invalid pixels
        np.save(data / f"{i}.npy", depth)
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["pretrain", "--modality", "tof", "--data", str(data), "--out", str(run),
                                       *SMALL, "--set", "modality.units=m", "--set", "modality.channels=[depth,valid]"])
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["modality"]["units"] == "m" and len(resolved["modality"]["mean"]) == 2
    assert json.loads((run / "export" / "config.json").read_text())["model_args"]["in_chans"] == 2
    assert "kNN accuracy" not in result.output and not (run / "evaluation.json").exists()  # not the user's data
    assert f"domainssl eval knn --weights {run / 'export'}" in result.output

    card = (run / "export" / "README.md").read_text()
    (snippet,) = [b.split("\n```")[0] for b in card.split("```python\n")[1:] if "modality.normalise" in b]
    namespace = {}
    exec(snippet.replace("frame.png", str(data / "0.npy")), namespace)  # the card's preprocessing, as written
    x = namespace["x"]
    assert x.shape == (2, 48, 64) and np.isfinite(x).all()
    invalid = np.isnan(np.load(data / "0.npy"))
    assert (x[1] == x[1].min()).sum() == invalid.sum() > 0  # the valid channel marks exactly the NaN pixels


def test_preview_writes_a_png(tmp_path, gray16_dir):
    out = tmp_path / "views.png"
    result = CliRunner().invoke(main, ["preview", "--modality", "gray", "--data", str(gray16_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 200
