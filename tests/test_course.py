"""The course's exercise checks accept the solutions and reject the stubs."""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[1] / "course"


def test_week01_solution_passes_the_check():
    result = subprocess.run([sys.executable, str(COURSE / "solutions" / "week01.py")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "well done" in result.stdout


def test_week01_check_rejects_a_wrong_answer():
    exercise = runpy.run_path(str(COURSE / "week01" / "exercise.py"))
    with pytest.raises(AssertionError):
        exercise["check"](lambda n, levels, kd, ku: n - 1)
