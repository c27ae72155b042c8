"""Frames per second of the synthetic ToF world on one CPU core.

Measures, per scene family and frame size: the whole frame (scene sampling + ray casting + sensor
model + labels, what ``render_frame`` does), the sensor model alone, and ``write_dataset`` (rendering
plus PNG/JSON writing). Rates are given by wall-clock time and by this process's CPU time; on a
machine shared with other jobs the CPU-time rate is the one-core figure.

Usage:
    python benchmarks/synth_tof_speed.py [--frames 200]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/cv2 load their thread pools

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from domainssl.data.synthetic.tof_world import camera_for, render_frame
from domainssl.data.synthetic.writer import write_dataset
from domainssl.physics.tof_measurement import simulate_sensor

SIZES = ((128, 96), (320, 240))
SCENES = ("cluttered", "object")


def frames_per_second(fn, n: int) -> tuple[float, float]:
    """(wall-clock, CPU-time) calls per second of ``fn(i)`` over ``n`` calls."""
    fn(0)  # warm caches
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(1, n + 1):
        fn(i)
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames timed per cell")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"{'scene':<10} {'size':>8} {'frame/s wall':>13} {'frame/s cpu':>12} {'sensor ms cpu':>14} "
          f"{'write frame/s':>14}")
    for scene in SCENES:
        for width, height in SIZES:
            profile, _ = camera_for("generic", width, height)
            wall, cpu = frames_per_second(lambda i: render_frame(i, scene, width, height, "generic", 0), args.frames)
            frame = render_frame(0, scene, width, height, "generic", 0)
            rng = np.random.default_rng(0)
            _, sensor_cpu = frames_per_second(
                lambda i: simulate_sensor(frame.clean, profile, rng, reflectivity=frame.reflectivity,
                                          theta=frame.theta), args.frames)
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                write_dataset(Path(tmp) / "d", args.frames, scene, width, height, "generic", 0)
                written = args.frames / (time.perf_counter() - start)
            print(f"{scene:<10} {width:>4}x{height:<3} {wall:>13.1f} {cpu:>12.1f} {1000 / sensor_cpu:>14.2f} "
                  f"{written:>14.1f}")

if __name__ == "__main__":
    main()
