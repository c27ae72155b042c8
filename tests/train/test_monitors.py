import pytest
import torch

from domainssl.train.monitors import CollapseMonitor, collapse_std
from domainssl.train.optim import warmup_cosine


def test_collapse_std_is_about_one_when_spread_and_zero_when_collapsed():
    torch.manual_seed(0)
    healthy = torch.randn(512, 128)
    collapsed = torch.randn(1, 128).repeat(512, 1) + 1e-4 * torch.randn(512, 128)
    assert collapse_std(healthy).item() == pytest.approx(1.0, abs=0.05)
    assert collapse_std(collapsed).item() < 0.01


def test_monitor_warns_once_after_patience_low_values():
    monitor = CollapseMonitor(threshold=0.1, patience=3)
    assert not monitor.update(0.05, step=1) and not monitor.update(0.9, step=2)  # a blip resets the count
    monitor.update(0.05, step=3)
    monitor.update(0.05, step=4)
    with pytest.warns(RuntimeWarning, match="collapsing"):
        assert monitor.update(0.05, step=5)
    assert monitor.update(0.04, step=6)  # still collapsed, no second warning


def test_warmup_then_cosine_schedule():
    values = [warmup_cosine(s, total_steps=100, warmup_steps=10) for s in range(100)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert values[10] == pytest.approx(1.0) and values[-1] < 0.01
    assert all(a >= b for a, b in zip(values[10:], values[11:]))  # monotone decay after warmup


def test_metrics_log_round_trip_with_empty_momentum(tmp_path):
    import math

    from domainssl.train.metrics_log import MetricsLog, read_metrics
    from domainssl.train.plots import plot_metrics

    log = MetricsLog(tmp_path / "metrics.csv")
    for step in (1, 2):
        log.write(step=step, epoch=0, loss=1.0 / step, lr=0.1, momentum="", collapse_std=0.9, images_per_s=10,
                  bad_files=0)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["loss"] for r in rows] == [1.0, 0.5] and math.isnan(rows[0]["momentum"])
    assert plot_metrics(tmp_path / "metrics.csv", tmp_path / "m.png").stat().st_size > 0
    MetricsLog(tmp_path / "metrics.csv", resume_step=1)  # a resume drops rows after its checkpoint
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.csv")] == [1]
