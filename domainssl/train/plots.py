"""``RUN/metrics.png``: loss, learning rate and the collapse metric against the step."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from domainssl.train.metrics_log import read_metrics  # noqa: E402


def plot_metrics(csv_path: str | Path, out: str | Path) -> Path:
    """Three stacked panels from a ``metrics.csv``: loss, lr, and std(z/|z|)·√d with the collapse zone shaded."""
    rows = read_metrics(csv_path)
    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
    for ax, key, label in zip(axes, ("loss", "lr", "collapse_std"), ("loss", "learning rate", "std(z/|z|)·√d")):
        ax.plot(steps, [r[key] for r in rows], lw=1.2)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[2].axhspan(0, 0.1, color="tab:red", alpha=0.15, label="collapse")
    axes[2].set_ylim(bottom=0)
    axes[2].legend(loc="lower left")
    axes[2].set_xlabel("step")
    fig.suptitle(f"{Path(csv_path).parent.name}: training metrics")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)
