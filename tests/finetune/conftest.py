"""Tiny recipe overrides for the fine-tuning smoke tests (the tiny exports are in tests/conftest.py)."""

from __future__ import annotations

#: 64x48 frames, n <= 16, a few steps, timm resnet10t: each run takes a few seconds on one core.
TINY_2D = {
    "data.width": 64, "data.height": 48, "data.train_frames": 16, "data.val_frames": 0, "data.test_frames": 8,
    "model.backbone": "resnet10t", "train.batch_size": 4, "train.eval_batch_size": 8, "model.fpn_channels": 32,
    "model.decoder_channels": [32, 16, 16, 8, 8],
}
TINY_VOLUME = {
    "data.train_frames": 2, "data.val_frames": 0, "data.test_frames": 1, "data.volume_size": 32,
    "data.patch_size": 32, "train.batch_size": 2, "train.eval_batch_size": 8,
    "model.decoder_channels": [32, 16, 16, 8, 8],
}
