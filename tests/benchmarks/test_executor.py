"""The benchmark's worker pool does not outlive a killed benchmark process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
POOL_THEN_WAIT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
import ssl_vs_scratch
pool = ssl_vs_scratch.executor(2)
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its reaping is left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_workers_exit_when_the_benchmark_process_is_killed():
    benchmark = subprocess.Popen([sys.executable, "-c", POOL_THEN_WAIT, str(BENCHMARKS)], stdout=subprocess.PIPE,
                                 text=True)
    try:
        worker = int(benchmark.stdout.readline())
        assert _running(worker)
    finally:
        os.kill(benchmark.pid, signal.SIGKILL)
        benchmark.wait()
    deadline = time.monotonic() + 20
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphaned = _running(worker)
    if orphaned:
        os.kill(worker, signal.SIGKILL)
    assert not orphaned, f"pool worker {worker} still runs after its benchmark process was killed"
