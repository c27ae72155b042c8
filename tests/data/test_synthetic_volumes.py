"""Synthetic CT/MRI phantoms, their NIfTI data set and the DICOM series writer."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest

from domainssl.data.synthetic.volumes import (
    CT_CLASSES,
    CT_TISSUES,
    MRI_CLASSES,
    MRI_TISSUES,
    ct_phantom,
    mri_phantom,
    read_labels,
    write_dicom_series,
    write_synthetic_volumes,
)

SHAPE = (40, 40, 40)


def test_ct_phantom_tissues_have_their_hounsfield_units():
    hu, seg = ct_phantom(SHAPE, np.random.default_rng(0), label=1)
    assert hu.shape == seg.shape == SHAPE and hu.dtype == np.float32
    expected = {"air": -1000, "soft_tissue": 40, "fat": -100, "lung": -850, "bone": 700, "organ": 60, "lesion": 5}
    for name, value in expected.items():
        voxels = hu[seg == CT_TISSUES.index(name)]
        assert voxels.size > 0, name
        assert abs(voxels.mean() - value) < 10, name  # noise sigma 15 HU averages out


@pytest.mark.parametrize("label", range(len(CT_CLASSES)))
def test_ct_lesion_follows_the_class(label):
    hu, seg = ct_phantom(SHAPE, np.random.default_rng(label), label=label)
    lesion = seg == CT_TISSUES.index("lesion")
    if label == 0:
        assert not lesion.any()
    else:
        organ_hu = hu[seg == CT_TISSUES.index("organ")].mean()
        assert lesion.sum() > 5
        assert (hu[lesion].mean() < organ_hu) == (CT_CLASSES[label] == "hypodense_lesion")


@pytest.mark.parametrize("label", range(len(MRI_CLASSES)))
def test_mri_phantom_contrast_and_lesion(label):
    image, seg = mri_phantom(SHAPE, np.random.default_rng(label), label=label)
    assert image.shape == SHAPE and image.min() >= 0 and np.isfinite(image).all()
    mean = {name: image[seg == i].mean() for i, name in enumerate(MRI_TISSUES) if (seg == i).any()}
    assert mean["white_matter"] > mean["grey_matter"] > mean["csf"] > mean["background"]
    assert mean["skull"] < mean["grey_matter"]
    if label == 0:
        assert "lesion" not in mean
    else:
        assert (mean["lesion"] > mean["white_matter"]) == (MRI_CLASSES[label] == "hyperintense_lesion")


def test_phantoms_are_deterministic_per_seed():
    a, _ = mri_phantom(SHAPE, np.random.default_rng(3), 1)
    b, _ = mri_phantom(SHAPE, np.random.default_rng(3), 1)
    c, _ = mri_phantom(SHAPE, np.random.default_rng(4), 1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_write_synthetic_volumes_layout_labels_and_reuse(tmp_path):
    paths = write_synthetic_volumes("ct", tmp_path, n=4, shape=(32, 32, 32), seed=0)
    assert [p.name for p in paths] == [f"vol_{i:04d}.nii.gz" for i in range(4)]
    image = nib.load(paths[0])
    assert image.shape == (32, 32, 32)
    assert np.allclose(image.header.get_zooms(), (1.5, 1.5, 1.5)) and nib.aff2axcodes(image.affine) == ("R", "A", "S")
    seg = nib.load(tmp_path / "labels" / paths[0].name)
    assert seg.get_data_dtype() == np.uint8 and seg.shape == (32, 32, 32)
    assert read_labels(tmp_path) == {p.name: i % 3 for i, p in enumerate(paths)}
    stamp = paths[0].stat().st_mtime_ns
    assert write_synthetic_volumes("ct", tmp_path, n=4, shape=(32, 32, 32), seed=0) == paths
    assert paths[0].stat().st_mtime_ns == stamp  # reused, not rewritten


def test_write_dicom_series_round_trips_hu(tmp_path):
    hu = np.random.default_rng(0).uniform(-1000, 2000, (5, 12, 10)).astype(np.float32)  # Z x Y x X
    files = write_dicom_series(hu, (0.8, 0.9, 2.5), tmp_path / "series", seed=1)
    assert len(files) == 5
    slices = [pydicom.dcmread(f) for f in files]
    assert len({ds.SeriesInstanceUID for ds in slices}) == 1
    assert [ds.InstanceNumber for ds in slices] == [1, 2, 3, 4, 5]
    assert [float(ds.ImagePositionPatient[2]) for ds in slices] == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert [float(v) for v in slices[0].PixelSpacing] == [0.9, 0.8]
    decoded = np.stack([ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in slices])
    assert np.abs(decoded - np.round(hu)).max() == 0
    again = write_dicom_series(hu, (0.8, 0.9, 2.5), tmp_path / "again", seed=1)
    assert pydicom.dcmread(again[0]).SeriesInstanceUID == slices[0].SeriesInstanceUID  # reproducible UIDs
