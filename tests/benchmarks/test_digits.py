"""The real-data check's images: scikit-learn's digits, 32 px 8-bit PNGs, one stratified split."""

import importlib

import cv2
import numpy as np


def test_digits_are_written_once_as_32px_pngs_in_a_stratified_split(bench, tmp_path):
    digits = importlib.import_module("digits_check")
    train, train_y, test, test_y = digits.write_digits(tmp_path)
    assert (len(train), len(test)) == (1797 - digits.TEST_IMAGES, digits.TEST_IMAGES)
    assert not {p.name for p in train} & {p.name for p in test}
    assert np.bincount(test_y).min() >= 55 and np.bincount(train_y).min() >= 110  # every digit in both splits
    image = cv2.imread(str(train[0]), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint8 and image.shape == (32, 32) and image.max() > 200
    stamp = train[0].stat().st_mtime_ns
    assert digits.write_digits(tmp_path)[0] == train and train[0].stat().st_mtime_ns == stamp
