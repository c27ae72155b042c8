"""Synthetic data reaches a modality through the data side's provider, by modality name."""

import numpy as np
import pytest

from domainssl.data.synthetic.provider import evaluation_sets, synthetic_files
from domainssl.errors import InvalidInputError
from domainssl.modalities import get_modality


def test_tof_files_and_evaluation_sets(tmp_path):
    tof = get_modality("tof", channels=["depth", "valid"])
    files = synthetic_files(tof, tmp_path, n=4, image_size=16, seed=0)
    assert len(files) == 4 and all(p.suffix == ".png" and p.is_file() for p in files)
    assert tof.read(files[0]).shape == (24, 32)
    sets = evaluation_sets(tof, tmp_path, image_size=16, seed=0, frames=(10, 5))
    assert sets.train_x.shape == (10, 2, 16, 16) and sets.val_x.shape == (5, 2, 16, 16)
    assert sets.train_x.dtype == np.float32 and sets.train_y.dtype == np.int64
    assert len(sets.class_names) == 5 and sets.train_y.max() < 5
    assert not np.array_equal(sets.train_x[:5], sets.val_x)  # different seeds


def test_volume_phantoms_are_written_once(tmp_path):
    modality = get_modality("ct", volume_mode="3d")
    files = synthetic_files(modality, tmp_path, n=64, image_size=32, seed=0)
    assert len(files) == 2 and (files[0].parent.parent / "labels.csv").is_file()
    stamp = files[0].stat().st_mtime_ns
    assert synthetic_files(modality, tmp_path, n=64, image_size=32, seed=0) == files
    assert files[0].stat().st_mtime_ns == stamp
    volume = modality.read(files[0])
    modality.fit_stats([volume])
    assert all(v.shape == (1, 32, 32, 32) for v in modality.views("byol", 32, 2)(volume, np.random.default_rng(0)))


def test_a_modality_without_a_world_asks_for_data(tmp_path):
    assert evaluation_sets(get_modality("gray"), tmp_path, image_size=16, seed=0, frames=(10, 5)) is None
    with pytest.raises(InvalidInputError, match="no synthetic data; pass --data"):
        synthetic_files(get_modality("gray"), tmp_path, n=4, image_size=16, seed=0)
