"""Every course exercise file: its solution passes all checks, its stub fails them all.

An exercise ``course/exercises/<notebook>.py`` and its solution ``course/solutions/<notebook>.py``
run the checks of ``waveunet_lit.exercises.<topic>`` when executed as a script (exit status =
number of failed checks). The per-check wrong answers are in ``tests/test_exercises_<topic>.py``.
"""

import subprocess
import sys
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[1] / "course"
EXERCISES = sorted((COURSE / "exercises").glob("[0-9]*.py"))


def run(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)


def test_there_are_exercises_with_solutions():
    assert EXERCISES
    assert sorted(p.name for p in (COURSE / "solutions").glob("*.py")) == [p.name for p in EXERCISES]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: p.stem)
def test_solution_passes_and_stub_fails(exercise):
    solved = run(COURSE / "solutions" / exercise.name)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "not yet" not in solved.stdout and solved.stdout.count("ok ") >= 1
    stub = run(exercise)
    checks = stub.stdout.count("not yet")
    assert checks >= 1 and stub.returncode == checks, stub.stdout + stub.stderr
    assert "ok " not in stub.stdout
