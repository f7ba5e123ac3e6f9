"""bench/separate_speed.py --compare prints every setting's row, the whole command with and
without freed memory reused among them (a short song: the same code paths in seconds)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "separate_speed.py"
ROWS = ("former", "before", "fastpath", "no-reuse", "current", "cmd-noreuse", "command")


@pytest.mark.slow
def test_compare_prints_every_setting(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--compare", "--minutes", "0.02"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.split()[:1] and line.split()[0] in ROWS}
    assert set(rows) == set(ROWS), done.stdout
    for name, cols in rows.items():
        minutes, wall, speed, ratio, peak = cols[1:6]
        assert float(minutes) == 0.02 and float(wall) > 0 and float(speed) > 0 and float(peak) > 100, (name, done.stdout)
        assert ratio == "-" if name == "former" else float(ratio) > 0, (name, done.stdout)
    assert "failed" not in done.stdout
    assert list(tmp_path.iterdir()) == []  # its songs, checkpoints and stems went to temporary folders
