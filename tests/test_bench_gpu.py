"""bench/gpu.py runs end to end in its CPU smoke mode (one row per precision, a separation
line) and rejects a bad --peak-tflops."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)


def test_cpu_smoke_prints_every_row():
    done = run("--cpu-smoke", "--models", "strided", "--peak-tflops", "0.01")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("strided ")]
    assert [r[1] for r in rows[:3]] == ["32-true", "16-mixed", "bf16-mixed"], done.stdout
    for r in rows[:3]:
        samples_s, gmacs, mfu = float(r[3]), float(r[6]), float(r[7])
        # MFU = training FLOPs/s (3 passes x 2 FLOPs per MAC) over the stated 0.01 TFLOP/s
        assert samples_s > 0 and mfu == pytest.approx(100 * samples_s * 6 * gmacs * 1e9 / 1e10, rel=0.02, abs=0.1), r
    assert "separation of a 2 s song:" in done.stdout and "x real time" in done.stdout, done.stdout


def test_bad_peak_tflops_is_rejected():
    done = run("--cpu-smoke", "--peak-tflops", "0")
    assert done.returncode != 0 and "--peak-tflops must be > 0, got 0" in done.stderr
