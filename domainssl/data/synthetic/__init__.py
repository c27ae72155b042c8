"""Synthetic worlds: procedurally rendered, labelled data for demos, tests and built-in evaluations.

The ToF world ray-casts rooms with solids through a sensor's intrinsics and measures them with the
sensor model; :func:`write_dataset` / :func:`ensure_dataset` put frames, masks and COCO annotations
on disk, :func:`render_frame` gives one frame in memory.
"""

from domainssl.data.synthetic.scene import CLASS_NAMES
from domainssl.data.synthetic.tof_world import GENERATOR_VERSION, SCENES, Frame, render_frame
from domainssl.data.synthetic.writer import (
    ensure_dataset,
    load_labelled_frames,
    load_segmentation_frames,
    write_dataset,
)

__all__ = [
    "CLASS_NAMES",
    "GENERATOR_VERSION",
    "SCENES",
    "Frame",
    "ensure_dataset",
    "load_labelled_frames",
    "load_segmentation_frames",
    "render_frame",
    "write_dataset",
]
