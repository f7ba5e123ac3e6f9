"""Notebook 12's exercise check: passes the solution, fails the stub and plausible wrong answers."""

import runpy
from pathlib import Path

import pytest

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.family import CHECKS

COURSE = Path(__file__).resolve().parents[1] / "course"
STEM = "12_the_wave_u_net_family"


def test_solution_passes():
    (result,) = run_checks(CHECKS, runpy.run_path(str(COURSE / "solutions" / f"{STEM}.py")))
    assert result.passed, result.message


def test_stub_fails():
    (result,) = run_checks(CHECKS, runpy.run_path(str(COURSE / "exercises" / f"{STEM}.py")))
    assert not result.passed and "still to do" in result.message


@pytest.mark.parametrize(
    "wrong, hint",
    [
        ({"depth_or_kernel": "B", "context": "same", "strided": "A"}, "depth_or_kernel"),  # "a bigger kernel sees more"
        ({"depth_or_kernel": "A", "context": "A", "strided": "A"}, "context"),  # "context widens the view"
        ({"depth_or_kernel": "A", "context": "same", "strided": "B"}, "strided"),  # "more levels see more"
        ({"depth_or_kernel": "a", "context": "same", "strided": "A"}, "still to do"),
        ("A", "must be a dict"),
    ],
)
def test_wrong_answers_fail_with_a_hint(wrong, hint):
    (result,) = run_checks(CHECKS, {"predictions": wrong})
    assert not result.passed and hint in result.message, result.message
