"""Synthetic labelled CT and MRI volumes (procedural phantoms), written as NIfTI or as a DICOM series.

Phantoms are built from ellipsoids and cylinders on a voxel grid in RAS order (axis 0 = x, left to
right; 1 = y, posterior to anterior; 2 = z, inferior to superior):

* CT (HU): air -1000, body soft tissue ~40 with a fat rim ~-100, two lungs ~-850, a spine ~+700 and an
  organ ~60; class = lesion in the organ: none, hypodense (~5 HU) or hyperdense (~220 HU).
* MRI (T1-like, arbitrary units ~0..1000): scalp, dark skull, CSF, grey and white matter, ventricles,
  a smooth multiplicative bias field and Rician noise; class = white-matter lesion: none,
  hyperintense or hypointense.

Each volume has a voxel label map (:data:`CT_TISSUES` / :data:`MRI_TISSUES`) and a class label.

Examples:
    >>> hu, seg = ct_phantom((48, 48, 48), np.random.default_rng(0), label=1)
    >>> paths = write_synthetic_volumes("ct", Path("/tmp/ct"), n=4, shape=(48, 48, 48), seed=0)
    >>> files = write_dicom_series(hu.transpose(2, 1, 0), (1.5, 1.5, 1.5), Path("/tmp/ct_dicom"))
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal, Sequence

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

CT_CLASSES = ["no_lesion", "hypodense_lesion", "hyperdense_lesion"]
MRI_CLASSES = ["no_lesion", "hyperintense_lesion", "hypointense_lesion"]
CT_TISSUES = ["air", "soft_tissue", "fat", "lung", "bone", "organ", "lesion"]
MRI_TISSUES = ["background", "scalp", "skull", "csf", "grey_matter", "white_matter", "lesion"]
#: Voxel spacing (mm) the synthetic volumes are written with (the modalities' default target spacing).
SPACING = {"ct": (1.5, 1.5, 1.5), "mri": (1.0, 1.0, 1.0)}


def _grid(shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open coordinate grids in [-1, 1] along each axis (broadcastable to ``shape``)."""
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    return tuple(values.reshape([-1 if a == i else 1 for a in range(3)]) for i, values in enumerate(axes))


def _ellipsoid(grid, centre, radii) -> np.ndarray:
    x, y, z = grid
    return ((x - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2 + ((z - centre[2]) / radii[2]) ** 2


def _jitter(rng: np.random.Generator, values, amount: float) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    return values + rng.uniform(-amount, amount, values.shape).astype(np.float32)


def ct_phantom(shape: Sequence[int], rng: np.random.Generator, label: int) -> tuple[np.ndarray, np.ndarray]:
    """One CT phantom in Hounsfield units.

    Args:
        shape: (X, Y, Z) voxels.
        rng: source of all random variation (positions, sizes, noise).
        label: index into :data:`CT_CLASSES`.

    Returns:
        ``hu`` float32 (X, Y, Z) in HU, and ``seg`` uint8 (X, Y, Z) indexing :data:`CT_TISSUES`.
    """
    g = _grid(shape)
    x, y, _ = g
    body_r = _jitter(rng, [0.85, 0.65], 0.08)
    body = (x / body_r[0]) ** 2 + (y / body_r[1]) ** 2  # elliptic cylinder along z
    seg = np.zeros(shape, np.uint8)
    seg[np.broadcast_to(body <= 1.0, shape)] = 2  # fat rim
    seg[np.broadcast_to(body <= 0.82, shape)] = 1
    for side in (-1, 1):
        centre = _jitter(rng, [0.38 * side * body_r[0], 0.08, 0.35], 0.06)
        seg[(_ellipsoid(g, centre, _jitter(rng, [0.24, 0.32, 0.5], 0.05)) <= 1) & (seg == 1)] = 3
    spine = np.broadcast_to((x / 0.1) ** 2 + ((y + 0.45 * body_r[1]) / 0.1) ** 2 <= 1, shape)
    seg[spine] = 4
    organ_c, organ_r = _jitter(rng, [-0.3, 0.1, -0.45], 0.06), _jitter(rng, [0.35, 0.32, 0.35], 0.05)
    seg[(_ellipsoid(g, organ_c, organ_r) <= 1) & (seg == 1)] = 5
    if label:
        offset = rng.uniform(-0.4, 0.4, 3).astype(np.float32) * organ_r
        seg[(_ellipsoid(g, organ_c + offset, [rng.uniform(0.1, 0.16)] * 3) <= 1) & (seg == 5)] = 6
    tissue_hu = np.array([-1000, 40, -100, -850, 700, 60, 5 if label == 1 else 220], np.float32)
    hu = tissue_hu[seg] + rng.normal(0.0, 15.0, shape).astype(np.float32)
    return hu.astype(np.float32), seg


def mri_phantom(shape: Sequence[int], rng: np.random.Generator, label: int) -> tuple[np.ndarray, np.ndarray]:
    """One T1-like brain MRI phantom with bias field and Rician noise.

    Args:
        shape: (X, Y, Z) voxels.
        rng: source of all random variation.
        label: index into :data:`MRI_CLASSES`.

    Returns:
        ``image`` float32 (X, Y, Z), arbitrary units >= 0, and ``seg`` uint8 indexing :data:`MRI_TISSUES`.
    """
    g = _grid(shape)
    head_r = _jitter(rng, [0.75, 0.9, 0.8], 0.06)
    head = _ellipsoid(g, _jitter(rng, [0, 0, 0], 0.03), head_r)
    seg = np.zeros(shape, np.uint8)
    for level, tissue in [(1.0, 1), (0.86, 2), (0.74, 3), (0.68, 4), (0.42, 5)]:
        seg[head <= level] = tissue
    for side in (-1, 1):  # ventricles
        seg[_ellipsoid(g, _jitter(rng, [0.12 * side, 0.05, 0.05], 0.03), _jitter(rng, [0.07, 0.25, 0.12], 0.02)) <= 1] = 3
    if label:
        centre = _jitter(rng, [0.0, 0.0, 0.0], 0.3) * head_r
        seg[(_ellipsoid(g, centre, [rng.uniform(0.08, 0.14)] * 3) <= 1) & (seg == 5)] = 6
    tissue_signal = np.array([0, 900, 60, 150, 500, 750, 1000 if label == 1 else 250], np.float32)
    image = tissue_signal[seg]
    x, y, z = g
    c = rng.uniform(-0.25, 0.25, 6).astype(np.float32)
    image = image * np.exp(c[0] * x + c[1] * y + c[2] * z + c[3] * x * y + c[4] * y * z + c[5] * x * x)  # bias field
    noise = rng.normal(0.0, 20.0, (2, *shape)).astype(np.float32)
    image = np.sqrt((image + noise[0]) ** 2 + noise[1] ** 2)  # Rician magnitude
    return image.astype(np.float32), seg


def write_nifti(array: np.ndarray, spacing: Sequence[float], path: Path, dtype: type = np.int16) -> Path:
    """Write an (X, Y, Z) array in RAS voxel order as NIfTI with a diagonal affine of ``spacing`` mm."""
    affine = np.diag([*map(float, spacing), 1.0])
    image = nib.Nifti1Image(np.round(array).astype(dtype) if np.dtype(dtype).kind in "iu" else array.astype(dtype), affine)
    image.header.set_xyzt_units("mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return path


def write_synthetic_volumes(
    kind: Literal["ct", "mri"], out_dir: Path, n: int, shape: Sequence[int], seed: int
) -> list[Path]:
    """Write ``n`` labelled phantoms once; later calls with the same arguments reuse the files.

    Layout: ``out_dir/images/vol_XXXX.nii.gz`` (int16: HU for CT, signal for MRI),
    ``out_dir/labels/vol_XXXX.nii.gz`` (uint8 tissue map) and ``out_dir/labels.csv``
    (``file,label,class_name``). Classes cycle through the class list, so they are balanced.

    Returns:
        The image paths, sorted.
    """
    if kind not in SPACING:
        raise ValueError(f"kind must be 'ct' or 'mri', got {kind!r}")
    out_dir = Path(out_dir)
    manifest = out_dir / "labels.csv"
    images = [out_dir / "images" / f"vol_{i:04d}.nii.gz" for i in range(n)]
    if manifest.is_file() and all(p.is_file() for p in images):
        return images
    phantom, classes = (ct_phantom, CT_CLASSES) if kind == "ct" else (mri_phantom, MRI_CLASSES)
    rows = []
    for i, path in enumerate(images):
        label = i % len(classes)
        volume, seg = phantom(shape, np.random.default_rng([seed, i]), label)
        write_nifti(volume, SPACING[kind], path)
        write_nifti(seg, SPACING[kind], out_dir / "labels" / path.name, dtype=np.uint8)
        rows.append([path.name, label, classes[label]])
    tmp = manifest.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        csv.writer(f).writerows([["file", "label", "class_name"], *rows])
    tmp.replace(manifest)  # written last: its presence marks a complete set
    return images


def read_labels(out_dir: Path) -> dict[str, int]:
    """``{file name: class index}`` from ``out_dir/labels.csv``."""
    with (Path(out_dir) / "labels.csv").open(newline="") as f:
        return {row["file"]: int(row["label"]) for row in csv.DictReader(f)}


def write_dicom_series(volume_hu: np.ndarray, spacing: Sequence[float], out_dir: Path, seed: int = 0) -> list[Path]:
    """Write a CT volume as a DICOM series: one ``slice_XXXX.dcm`` per axial slice, 16-bit, HU via rescale.

    Args:
        volume_hu: (Z, Y, X) HU, stacked the DICOM way: slice k, row r (anterior to posterior),
            column c (right to left), i.e. LPS patient axes with identity ImageOrientationPatient.
            ``ct_phantom(...)[0].transpose(2, 1, 0)[:, ::-1, ::-1]`` gives this from an RAS array.
        spacing: (column, row, slice) spacing in mm, i.e. (x, y, z).
        out_dir: folder to create; it will hold exactly this series.
        seed: makes the UIDs reproducible.

    Returns:
        The written files, in slice order.
    """
    volume_hu = np.asarray(volume_hu)
    if volume_hu.ndim != 3:
        raise ValueError(f"volume_hu must be (Z, Y, X), got shape {volume_hu.shape}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sx, sy, sz = map(float, spacing)
    intercept = -1024.0
    stored = np.clip(np.round(volume_hu - intercept), 0, 65535).astype(np.uint16)
    study, series, frame = (generate_uid(entropy_srcs=[str(seed), part]) for part in ("study", "series", "frame"))
    files = []
    for k, plane in enumerate(stored):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(seed), "sop", str(k)])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Synthetic^Phantom", "domainssl"
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, 0.0, k * sz]
        ds.SliceLocation = k * sz
        ds.PixelSpacing = [sy, sx]  # row spacing, column spacing
        ds.SliceThickness = sz
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = intercept, 1.0, "HU"
        ds.PixelData = plane.tobytes()
        path = out_dir / f"slice_{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files
