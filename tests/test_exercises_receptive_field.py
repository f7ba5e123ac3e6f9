"""Notebook 04's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from course_files import solution
from waveunet_lit.exercises import ExerciseError
from waveunet_lit.exercises.receptive_field import check_stack_receptive_field

STEM = "04_receptive_field"
SOLUTION = solution(STEM)
right = SOLUTION["stack_receptive_field"]


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
