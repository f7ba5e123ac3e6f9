"""The check of notebook 04 accepts the solution and rejects the stub and plausible wrong answers."""

import runpy
from pathlib import Path

import pytest

from waveunet_lit.exercises import ExerciseError, run_checks
from waveunet_lit.exercises.receptive_field import CHECKS, check_stack_receptive_field

COURSE = Path(__file__).resolve().parents[1] / "course"
STEM = "04_receptive_field.py"
SOLUTION = runpy.run_path(str(COURSE / "solutions" / STEM))
right = SOLUTION["stack_receptive_field"]


def test_the_solution_passes_and_the_stub_fails():
    assert all(r.passed for r in run_checks(CHECKS, SOLUTION))
    stub = run_checks(CHECKS, runpy.run_path(str(COURSE / "exercises" / STEM)))
    assert not stub[0].passed and "stub" in stub[0].message


@pytest.mark.parametrize("wrong, hint", [
    (lambda layers: 1 + sum(k - 1 for k, s, d in layers), "forgot the dilation"),
    (lambda layers: 1 + sum(d * (k - 1) for k, s, d in layers), "forgot the strides"),
    (lambda layers: sum(d * (k - 1) + 1 for k, s, d in layers), "overlap by one"),
    (lambda layers: right(layers) - 1, "Off by one"),
    (lambda layers: 1 + sum(d * k for k, s, d in layers), "r = 1 \\+ sum"),  # d * k instead of d * (k - 1)
])
def test_wrong_formulas_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_stack_receptive_field(wrong)
