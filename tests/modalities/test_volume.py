"""The ct and mri modalities: reading real and synthetic volumes, intensities, views, errors, training shapes."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom.data
import pytest
import torch
import torch.nn.functional as F

from domainssl.augment.volume import AXES, VolumeViews
from domainssl.data.synthetic.volumes import ct_phantom, mri_phantom, write_dicom_series, write_nifti
from domainssl.errors import ConfigError, InvalidInputError
from domainssl.modalities import get_modality, list_modalities
from domainssl.modalities.volume import CT_WINDOWS
from domainssl.modalities.volume_io import load_volume
from domainssl.models.backbone import create_backbone
from domainssl.models.backbone3d import create_backbone_3d

NIB_DATA = Path(nib.__file__).parent / "tests" / "data"
ANATOMICAL = NIB_DATA / "anatomical.nii"  # real T1 brain crop, 33 x 41 x 25, 2 mm, stored LAS
NIB_DICOM = Path(nib.__file__).parent / "nicom" / "tests" / "data"  # 0.dcm, 1.dcm: a 2-slice MR series


@pytest.fixture(scope="module")
def ct_hu():
    """A CT phantom in HU, RAS voxel order (X, Y, Z)."""
    return ct_phantom((40, 36, 32), np.random.default_rng(0), label=2)[0]


@pytest.fixture
def ct_nifti(tmp_path, ct_hu):
    return write_nifti(ct_hu, (1.5, 1.5, 1.5), tmp_path / "ct.nii.gz")


@pytest.fixture
def ct_dicom(tmp_path, ct_hu):
    """The same phantom as a DICOM series folder (LPS slice stack)."""
    write_dicom_series(ct_hu.transpose(2, 1, 0)[:, ::-1, ::-1], (1.5, 1.5, 1.5), tmp_path / "series")
    return tmp_path / "series"


@pytest.fixture
def mri_nifti(tmp_path):
    image = mri_phantom((36, 40, 36), np.random.default_rng(1), label=1)[0]
    return write_nifti(image, (1.0, 1.0, 1.0), tmp_path / "mri.nii.gz")


def fitted(name, volume, **options):
    modality = get_modality(name, **options)
    modality.fit_stats([volume])
    return modality


# -- registry and options ---------------------------------------------------------------------------


def test_registered_with_mode_dependent_channels_and_dims():
    assert {"ct", "mri"} <= set(list_modalities())
    slab = get_modality("ct", slices=5)
    cube = get_modality("mri", volume_mode="3d")
    assert (slab.in_chans, slab.spatial_dims) == (5, 2)
    assert (cube.in_chans, cube.spatial_dims) == (1, 3)


@pytest.mark.parametrize(
    "options",
    [{"window": "custom"}, {"window": "custom", "a_min": 100.0, "a_max": 0.0}, {"a_min": -100.0}, {"spacing": [1.0, 1.0]}],
)
def test_inconsistent_ct_options_are_rejected(options):
    with pytest.raises(ConfigError):
        get_modality("ct", **options)


# -- orientation, spacing, intensities --------------------------------------------------------------


def test_real_nifti_is_reoriented_to_ras():
    raw = nib.load(ANATOMICAL)
    assert nib.aff2axcodes(raw.affine) == ("L", "A", "S")
    image = get_modality("mri", spacing=None).orient_resample(load_volume(ANATOMICAL))
    assert np.all(np.diag(image.affine.numpy())[:3] > 0)  # RAS: positive diagonal
    assert np.array_equal(image[0].numpy(), np.flip(raw.get_fdata(), 0).astype(np.float32))


def test_spacing_is_applied():
    image = get_modality("mri", spacing=[4.0, 1.0, 2.5]).orient_resample(load_volume(ANATOMICAL))  # native 2 mm
    assert np.allclose(image.pixdim.numpy(), [4.0, 1.0, 2.5])
    assert abs(image.shape[1] - 33 * 2 / 4) <= 1 and abs(image.shape[2] - 41 * 2) <= 1 and abs(image.shape[3] - 25 * 2 / 2.5) <= 1


def test_dicom_series_matches_the_volume_it_was_written_from(ct_dicom, ct_hu):
    image = get_modality("ct", spacing=None).orient_resample(load_volume(ct_dicom))
    assert image.shape[1:] == ct_hu.shape
    stored = np.clip(np.round(ct_hu + 1024), 0, None) - 1024  # 16-bit storage with intercept -1024
    assert np.array_equal(image[0].numpy(), stored)  # HU, RAS, no flips


def test_real_dicom_series_from_nibabel_reads_as_a_volume(tmp_path):
    folder = tmp_path / "mr_series"
    folder.mkdir()
    for name in ("0.dcm", "1.dcm"):
        shutil.copy(NIB_DICOM / name, folder / name)
    volume = get_modality("mri", spacing=[3.0, 3.0, 3.0]).read(folder)
    assert volume.ndim == 4 and volume.shape[0] == 1 and min(volume.shape[1:]) >= 2 and np.isfinite(volume).all()


@pytest.mark.parametrize("window", [*CT_WINDOWS, "custom"])
def test_ct_windowing_lands_in_unit_interval(ct_nifti, ct_hu, window):
    extra = {"a_min": -200.0, "a_max": 300.0} if window == "custom" else {}
    modality = get_modality("ct", window=window, **extra)
    volume = modality.read(ct_nifti)
    assert volume.dtype == np.float32 and volume.min() >= 0.0 and volume.max() <= 1.0
    a_min, a_max = (-200.0, 300.0) if window == "custom" else CT_WINDOWS[window]
    scaled = np.asarray(modality.normalise(torch.from_numpy(ct_hu[None]), np.ones((1, *ct_hu.shape), bool)))
    assert np.allclose(scaled[0], np.clip((ct_hu - a_min) / (a_max - a_min), 0.0, 1.0), atol=1e-6)


def test_ct_is_cropped_to_the_body(ct_nifti, ct_hu):
    volume = get_modality("ct").read(ct_nifti)
    body = np.argwhere(ct_hu > -500)
    assert volume.shape[1:] == tuple(body.max(0) - body.min(0) + 1)


def test_mri_is_zscored_on_the_foreground(mri_nifti):
    volume = get_modality("mri").read(mri_nifti)
    foreground = volume[volume != 0]
    assert abs(foreground.mean()) < 1e-3 and abs(foreground.std() - 1.0) < 1e-3
    assert (volume == 0).mean() > 0.1  # background kept at 0, not z-scored


# -- views ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, shape", [("2.5d", (3, 24, 24)), ("3d", (1, 24, 24, 24))])
def test_views_shapes_are_standardised_and_seeded(mri_nifti, mode, shape):
    volume = get_modality("mri").read(mri_nifti)
    modality = fitted("mri", volume, volume_mode=mode)
    view_fn = modality.views("byol", 24, 2)
    before = volume.copy()
    a = view_fn(volume, np.random.default_rng(7))
    b = view_fn(volume, np.random.default_rng(7))
    c = view_fn(volume, np.random.default_rng(8))
    assert [v.shape for v in a] == [shape, shape] and all(v.dtype == np.float32 and np.isfinite(v).all() for v in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # same seed, same views
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[0], a[1])  # new seed / other view differ
    assert np.array_equal(volume, before)  # the (cached) volume is never written into


def test_views_need_fitted_stats(mri_nifti):
    modality = get_modality("mri")
    with pytest.raises(RuntimeError, match="fit_stats"):
        modality.views("byol", 16, 2)(modality.read(mri_nifti), np.random.default_rng(0))


def _locate(volume: np.ndarray, value: float) -> tuple[int, ...]:
    (index,) = np.argwhere(volume == value)
    return tuple(index)


def test_3d_crops_stay_inside_the_volume():
    volume = np.arange(30 * 26 * 22, dtype=np.float32).reshape(1, 30, 26, 22)  # every voxel unique
    views = VolumeViews("3d", image_size=16, num_views=4, augment=False)(volume, np.random.default_rng(0))
    for view in views:
        x, y, z = _locate(volume[0], view[0, 0, 0, 0])
        assert np.array_equal(view[0], volume[0, x : x + 16, y : y + 16, z : z + 16])


@pytest.mark.parametrize("axis", list(AXES))
def test_slabs_are_adjacent_slices_inside_the_volume(axis):
    volume = np.arange(30 * 26 * 22, dtype=np.float32).reshape(1, 30, 26, 22)
    views = VolumeViews("2.5d", image_size=16, num_views=3, slices=5, axis=axis, augment=False)(volume, np.random.default_rng(1))
    for view in views:
        assert view.shape == (5, 16, 16)
        start = _locate(volume[0], view[0, 0, 0])
        box = volume[0][tuple(slice(s, s + (5 if a == AXES[axis] else 16)) for a, s in enumerate(start))]
        assert np.array_equal(view, np.moveaxis(box, AXES[axis], 0))


def test_small_volumes_are_padded_to_the_view_size():
    views = VolumeViews("3d", image_size=32, num_views=2, augment=False)(np.ones((1, 10, 40, 12), np.float32), np.random.default_rng(0))
    assert all(v.shape == (1, 32, 32, 32) for v in views)
    assert views[0].sum() == 10 * 32 * 12  # the volume, surrounded by zero background


def test_display_shows_three_orthogonal_mid_slices(ct_nifti):
    volume = get_modality("ct").read(ct_nifti)
    panels = dict(get_modality("ct").display(volume))
    _, x, y, z = volume.shape
    assert {k: v.shape for k, v in panels.items()} == {"axial": (y, x), "coronal": (z, x), "sagittal": (z, y)}


# -- cache ------------------------------------------------------------------------------------------


def test_memory_cache_prepares_once(ct_nifti, monkeypatch):
    modality = get_modality("ct")
    calls = []
    original = modality.prepare
    monkeypatch.setattr(modality, "prepare", lambda path: calls.append(path) or original(path))
    first, second = modality.read(ct_nifti), modality.read(ct_nifti)
    assert len(calls) == 1 and second is first


def test_disk_cache_is_shared_between_instances(ct_nifti, tmp_path):
    writer = get_modality("ct", cache="disk", cache_dir=str(tmp_path / "cache"))
    volume = writer.read(ct_nifti)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    reader = get_modality("ct", cache="disk", cache_dir=str(tmp_path / "cache"))
    reader.prepare = None  # would fail if called: the second instance must load the .npy
    assert np.array_equal(reader.read(ct_nifti), volume)
    other_window = get_modality("ct", cache="disk", cache_dir=str(tmp_path / "cache"), window="bone")
    assert not np.array_equal(other_window.read(ct_nifti), volume)  # options are part of the key


# -- discovery and bad input ------------------------------------------------------------------------


def test_discover_finds_nifti_files_and_dicom_series_folders(tmp_path, ct_nifti, ct_dicom):
    (tmp_path / "notes.txt").write_text("not a volume")
    suffixless = tmp_path / "nested" / "series2"
    suffixless.mkdir(parents=True)
    shutil.copy(next(ct_dicom.iterdir()), suffixless / "IM0001")  # DICOM without a suffix
    assert get_modality("ct").discover([tmp_path]) == sorted([ct_nifti, ct_dicom, suffixless])


def test_empty_dicom_folder_is_named(tmp_path):
    empty = tmp_path / "series_empty"
    empty.mkdir()
    with pytest.raises(InvalidInputError, match="series_empty.*empty DICOM folder"):
        get_modality("ct").discover([empty])
    with pytest.raises(InvalidInputError, match="series_empty.*empty DICOM folder"):
        get_modality("ct").read(empty)


def test_nan_voxels_are_named(tmp_path):
    data = np.ones((16, 16, 16), np.float32)
    data[3, 4, 5] = np.nan
    path = write_nifti(data, (1, 1, 1), tmp_path / "has_nan.nii.gz", dtype=np.float32)
    with pytest.raises(InvalidInputError, match=r"has_nan\.nii\.gz: holds 1 NaN/Inf voxels"):
        get_modality("mri").read(path)


def test_4d_series_is_rejected():
    with pytest.raises(InvalidInputError, match=r"example4d\.nii\.gz: a 4D series .*2 volumes"):
        get_modality("mri").read(NIB_DATA / "example4d.nii.gz")


def test_4d_dicom_series_is_rejected(tmp_path, ct_hu):
    folder = tmp_path / "dwi"
    write_dicom_series(ct_hu[None, :, :, 0].repeat(2, 0), (1, 1, 1), folder)  # two slices at ...
    for f in folder.iterdir():  # ... the same position: two time points
        ds = pydicom.dcmread(f)
        ds.ImagePositionPatient = [0.0, 0.0, 0.0]
        ds.save_as(f)
    with pytest.raises(InvalidInputError, match="dwi: a 4D DICOM series"):
        get_modality("ct").read(folder)


@pytest.mark.parametrize("source", ["nifti_2d", "dicom_slice"])
def test_2d_images_are_rejected(tmp_path, source):
    if source == "nifti_2d":
        path = write_nifti(np.ones((20, 20, 1), np.float32), (1, 1, 1), tmp_path / "slice.nii")
    else:
        path = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    with pytest.raises(InvalidInputError, match=rf"{path.name}: a 2D image"):
        get_modality("ct").read(path)


def test_unreadable_file_is_named(tmp_path):
    path = tmp_path / "broken.nii.gz"
    path.write_bytes(b"this is not a NIfTI file at all" * 20)
    with pytest.raises(InvalidInputError, match=r"broken\.nii\.gz: cannot be read"):
        get_modality("ct").read(path)


def test_volume_without_foreground_is_named(tmp_path):
    path = write_nifti(np.full((16, 16, 16), -1000.0), (1, 1, 1), tmp_path / "air.nii.gz")
    with pytest.raises(InvalidInputError, match=r"air\.nii\.gz: no voxel above -500 HU"):
        get_modality("ct").read(path)


# -- backbones and a short training in both modes ----------------------------------------------------


def test_backbone_3d_features_and_unknown_names():
    net = create_backbone_3d("resnet10", in_chans=1)
    assert net(torch.zeros(2, 1, 32, 32, 32)).shape == (2, net.num_features) == (2, 512)
    with pytest.raises(ValueError, match=r"resnet10.*resnet18.*resnet34.*resnet50"):
        create_backbone_3d("convnext_atto", in_chans=1)


@pytest.mark.parametrize("mode, backbone", [("2.5d", "resnet18"), ("3d", "resnet10")])
def test_two_view_training_steps_in_both_modes(mri_nifti, mode, backbone):
    """Views from the modality flow through create_backbone and a cosine two-view loss."""
    torch.manual_seed(0)
    volume = get_modality("mri").read(mri_nifti)
    modality = fitted("mri", volume, volume_mode=mode)
    view_fn = modality.views("simsiam", 32, 2)
    encoder = create_backbone(backbone, modality.in_chans, modality.spatial_dims)
    projector = torch.nn.Linear(encoder.num_features, 16)
    params = [*encoder.parameters(), *projector.parameters()]
    optimizer = torch.optim.SGD(params, lr=0.05)
    start = [p.detach().clone() for p in params]
    for step in range(2):
        pairs = [view_fn(volume, np.random.default_rng([step, i])) for i in range(2)]
        x1, x2 = (torch.from_numpy(np.stack(v)) for v in zip(*pairs))  # each N x C x S x S (x S)
        assert x1.shape == (2, modality.in_chans, *[32] * (3 if mode == "3d" else 2))
        z1, z2 = projector(encoder(x1)), projector(encoder(x2))  # N x 16
        loss = -F.cosine_similarity(z1, z2.detach()).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(start, params))
