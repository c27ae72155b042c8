import cv2
import numpy as np
import pytest

from domainssl.errors import InvalidInputError
from domainssl.modalities import get_modality


def test_16bit_png_keeps_every_level(tmp_path):
    levels = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    cv2.imwrite(str(tmp_path / "all.png"), levels)
    gray = get_modality("gray")
    image = gray.read(tmp_path / "all.png")
    assert image.dtype == np.uint16 and image.shape == (256, 256, 1)
    assert np.array_equal(image[..., 0], levels)
    unit = gray.to_unit(image)
    assert len(np.unique(unit)) == 65536  # no level merged before normalisation


def test_npy_and_tiff_are_read_losslessly(tmp_path):
    data = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    np.save(tmp_path / "a.npy", data)
    cv2.imwrite(str(tmp_path / "b.tif"), data)
    gray = get_modality("gray")
    assert np.array_equal(gray.read(tmp_path / "a.npy")[..., 0], data)
    assert np.array_equal(gray.read(tmp_path / "b.tif")[..., 0], data)


def test_rgb_reads_in_rgb_order(tmp_path):
    bgr = np.zeros((8, 8, 3), np.uint8)
    bgr[..., 0] = 255  # blue in OpenCV's order
    cv2.imwrite(str(tmp_path / "blue.png"), bgr)
    assert get_modality("rgb").read(tmp_path / "blue.png")[0, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize(
    "writer, match",
    [
        (lambda p: np.save(p.with_suffix(".npy"), np.full((8, 8), np.nan, np.float32)), "NaN"),
        (lambda p: cv2.imwrite(str(p), np.zeros((8, 8, 3), np.uint8)), "use --modality rgb"),
        (lambda p: p.write_bytes(b"not a png"), "cannot decode"),
        (lambda p: np.save(p.with_suffix(".npy"), np.zeros((2, 8, 8, 2), np.float32)), "expected a 2D image"),
    ],
)
def test_bad_files_name_the_file(tmp_path, writer, match):
    path = tmp_path / "bad.png"
    writer(path)
    target = path if path.exists() else path.with_suffix(".npy")
    with pytest.raises(InvalidInputError, match=match) as info:
        get_modality("gray").read(target)
    assert str(target) in str(info.value)


def test_views_are_seeded_shaped_and_standardised(gray16_dir):
    gray = get_modality("gray")
    files = gray.discover([gray16_dir])
    gray.fit_stats([gray.read(f) for f in files])
    assert 0.45 < gray.options.mean[0] < 0.55 and 0.25 < gray.options.std[0] < 0.32  # uniform uint16
    make_views = gray.views("byol", image_size=24, num_views=2)
    sample = gray.read(files[0])
    a = make_views(sample, np.random.default_rng(5))
    b = make_views(sample, np.random.default_rng(5))
    c = make_views(sample, np.random.default_rng(6))
    assert len(a) == 2 and a[0].shape == (1, 24, 24) and a[0].dtype == np.float32
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], a[1])  # the two views are independent draws


def test_discover_errors_are_readable(tmp_path):
    with pytest.raises(InvalidInputError, match="no such file or folder"):
        get_modality("gray").discover([tmp_path / "missing"])
    with pytest.raises(InvalidInputError, match=r"no gray files \(.png"):
        get_modality("gray").discover([tmp_path])
