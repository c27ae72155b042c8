"""``RUN/metrics.csv``: one row per logged step, truncated consistently on resume."""

from __future__ import annotations

import csv
import math
from pathlib import Path

COLUMNS = ["step", "epoch", "loss", "lr", "momentum", "collapse_std", "images_per_s", "bad_files"]


class MetricsLog:
    """Appends rows to a CSV; on resume drops rows logged after the checkpoint's step."""

    def __init__(self, path: str | Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        rows = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, **row: float | int) -> None:
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=COLUMNS).writerow(row)


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """Rows of a metrics CSV as floats; empty cells (no momentum for SimSiam/SimCLR) become NaN."""
    with open(path, newline="") as handle:
        return [{k: float(v) if v != "" else math.nan for k, v in row.items()} for row in csv.DictReader(handle)]
