"""What a benchmark stores with each pretraining run it uses: where and how long it ran, and which weights it made.

``RUN/provenance.json`` is written right after pretraining; a benchmark reuses a run only when that file
exists and the export's sha256 still matches it, so a report never pairs numbers with other weights than
those it timed.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import torch

NAME = "provenance.json"


def machine() -> dict:
    """CPU model, ISA (``AVX2``, ``AVX512``, ...), torch threads and library versions."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "isa": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def export_sha256(run_dir: Path) -> str:
    return hashlib.sha256((Path(run_dir) / "export" / "model.safetensors").read_bytes()).hexdigest()


def write(run_dir: Path, seconds: float) -> dict:
    """Record a pretraining run just finished: wall seconds, export sha256, machine and the resolved recipe."""
    record = {"pretrain_seconds": round(seconds, 1), "export_sha256": export_sha256(run_dir), **machine(),
              "resolved_config": (Path(run_dir) / "config.yaml").read_text()}
    (Path(run_dir) / NAME).write_text(json.dumps(record, indent=1))
    return record


def read_checked(run_dir: Path) -> dict:
    """The run's record, after checking that its export is still the one that was timed.

    Raises:
        RuntimeError: no record (a run made before records were kept, or by hand), or other weights.
    """
    path = Path(run_dir) / NAME
    if not path.is_file():
        raise RuntimeError(f"{run_dir}: no {NAME}, so its pretraining time, machine and weights are unknown; "
                           "pass another --out to pretrain it again")
    record = json.loads(path.read_text())
    if record["export_sha256"] != export_sha256(run_dir):
        raise RuntimeError(f"{run_dir}/export/model.safetensors is not the export {NAME} recorded; "
                           "pass another --out to pretrain it again")
    return record
