"""Notebook 12's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.family import CHECKS


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
