"""Finding and reading CT/MRI volumes: NIfTI files (nibabel) and DICOM series folders (pydicom), via MONAI.

Everything here checks the file first and raises :class:`InvalidInputError` naming the file, the
problem and the fix: a 2D image, a 4D series, NaN/Inf voxels, an empty DICOM folder, a folder mixing
several series, or a file that cannot be decoded.

Examples:
    >>> items = volume_items(Path("data/"))        # NIfTI files + one Path per DICOM series folder
    >>> image = load_volume(items[0])              # MetaTensor (1, X, Y, Z), float32, with its affine
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections import Counter
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pydicom.misc
import torch
from monai.data import MetaTensor, NibabelReader, PydicomReader
from monai.transforms import LoadImage

from domainssl.errors import InvalidInputError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
DICOM_HINT = "a DICOM series is a folder holding one file per slice (.dcm or DICOM files without a suffix)"


def is_nifti(path: Path) -> bool:
    """True for ``.nii`` / ``.nii.gz`` files (case-insensitive)."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def is_dicom_file(path: Path) -> bool:
    """True for a ``.dcm`` file, or a suffix-less file whose preamble says DICOM (``pydicom.misc.is_dicom``)."""
    if not path.is_file() or path.name.startswith("."):
        return False
    if path.suffix.lower() == ".dcm":
        return True
    return path.suffix == "" and pydicom.misc.is_dicom(path)


def dicom_files(folder: Path) -> list[Path]:
    """The DICOM files directly inside ``folder`` (not recursive), sorted by name."""
    return [p for p in sorted(folder.iterdir()) if is_dicom_file(p)]


def volume_items(folder: Path) -> list[Path]:
    """The volumes inside ``folder``, recursively: NIfTI files, and each folder that directly holds DICOM
    files as one item (a series).

    Raises:
        InvalidInputError: ``folder`` holds no NIfTI file and no DICOM file (for example an empty DICOM folder).
    """
    items = []
    for sub in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        children = sorted(sub.iterdir())
        items += [p for p in children if p.is_file() and is_nifti(p)]
        if any(is_dicom_file(p) for p in children):
            items.append(sub)
    if not items:
        raise InvalidInputError(
            f"{folder}: folder holds no NIfTI file (.nii, .nii.gz) and no DICOM file (empty DICOM folder?); "
            f"point --data at NIfTI files or at folders of DICOM slices ({DICOM_HINT})"
        )
    return items


def load_volume(path: str | Path) -> MetaTensor:
    """Read one volume as a channel-first MetaTensor (1, X, Y, Z) in its stored orientation.

    Shape/dtype: (1, X, Y, Z) float32; ``.affine`` maps voxel indices to RAS millimetres (MONAI
    converts DICOM's LPS). CT DICOM values are in HU (RescaleSlope/Intercept applied).

    Raises:
        InvalidInputError: missing or unreadable file, empty DICOM folder, several series in one folder,
            a 2D image, a 4D series, or NaN/Inf voxels.
    """
    path = Path(path)
    if path.is_dir():
        files = dicom_files(path)
        _check_dicom_series(path, files)
        image = _load(path, PydicomReader)
    elif path.is_file() and is_nifti(path):
        _check_nifti_header(path)
        image = _load(path, NibabelReader)
    elif path.is_file() and is_dicom_file(path):
        image = _load(path, PydicomReader)
    elif path.exists():
        raise InvalidInputError(
            f"{path}: not a NIfTI file (.nii, .nii.gz), DICOM file or DICOM series folder; convert it to NIfTI"
        )
    else:
        raise InvalidInputError(f"{path}: no such file or folder; check --data")
    return _check_array(path, image)


@functools.cache
def _loader(reader_cls: type) -> LoadImage:
    """One ``LoadImage`` per reader, built once: building one constructs all of MONAI's fallback readers."""
    plugin_log = logging.getLogger("monai.data.nvimgcodec_pydicom_plugin")
    level = plugin_log.level
    plugin_log.setLevel(logging.ERROR)  # "nvImageCodec is not available": an optional GPU decoder, not needed
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*nvImageCodec.*")
            return LoadImage(reader=reader_cls(), image_only=True, dtype=np.float32)
    finally:
        plugin_log.setLevel(level)


def _load(path: Path, reader_cls: type) -> MetaTensor:
    try:
        return _loader(reader_cls)(str(path))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file for the user
        raise InvalidInputError(
            f"{path}: cannot be read as a volume ({type(exc).__name__}: {exc}); check the file is complete "
            "and not corrupt, or remove it from --data"
        ) from exc


def _check_nifti_header(path: Path) -> None:
    try:
        shape = nib.load(path).shape
    except Exception as exc:  # noqa: BLE001
        raise InvalidInputError(
            f"{path}: cannot be read as NIfTI ({type(exc).__name__}: {exc}); check the file is complete, or remove it"
        ) from exc
    _check_shape(path, tuple(int(s) for s in shape))


def _check_shape(path: Path, shape: tuple[int, ...]) -> None:
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) > 3:
        raise InvalidInputError(
            f"{path}: a 4D series of shape {shape} ({int(np.prod(shape[3:]))} volumes), but one 3D volume per file "
            "is needed; split it into 3D files (e.g. nibabel.funcs.four_to_three) and pass those"
        )
    if len(shape) < 3 or min(shape) < 2:
        raise InvalidInputError(
            f"{path}: a 2D image of shape {shape}, but a 3D volume is needed; use a 2D modality "
            "(--modality gray) for single slices, or pass the whole series"
        )


def _check_dicom_series(folder: Path, files: list[Path]) -> None:
    if not files:
        raise InvalidInputError(
            f"{folder}: empty DICOM folder (no DICOM files inside); copy the series' slice files into it or remove it "
            f"from --data ({DICOM_HINT})"
        )
    series, positions = set(), []
    for file in files:
        try:
            ds = pydicom.dcmread(file, stop_before_pixels=True, specific_tags=["SeriesInstanceUID", "ImagePositionPatient"])
        except Exception as exc:  # noqa: BLE001
            raise InvalidInputError(f"{file}: cannot be read as DICOM ({exc}); remove it from {folder}") from exc
        series.add(str(ds.get("SeriesInstanceUID", "")))
        if "ImagePositionPatient" in ds:
            positions.append(tuple(round(float(v), 3) for v in ds.ImagePositionPatient))
    if len(series) > 1:
        raise InvalidInputError(
            f"{folder}: holds {len(series)} DICOM series (SeriesInstanceUID differ); put each series in its own folder"
        )
    repeats = max(Counter(positions).values(), default=1)
    if repeats > 1:
        raise InvalidInputError(
            f"{folder}: a 4D DICOM series ({repeats} slices share each position, e.g. time points or diffusion "
            "directions), but one 3D volume is needed; export each volume to its own folder"
        )


def _check_array(path: Path, image: MetaTensor) -> MetaTensor:
    _check_shape(path, tuple(image.shape))
    while image.ndim > 3:  # trailing singleton dims, e.g. (X, Y, Z, 1)
        image = image.squeeze(-1)
    bad = int((~torch.isfinite(image)).sum())
    if bad:
        raise InvalidInputError(
            f"{path}: holds {bad} NaN/Inf voxels of {image.numel()}; fix or re-export the volume (or remove it from --data)"
        )
    return image.unsqueeze(0)
