"""Notebook 01's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from course_files import solution
from waveunet_lit.exercises import ExerciseError, run_checks
from waveunet_lit.exercises.by_the_numbers import (
    CHECKS, check_bottleneck_receptive_field, check_input_for_bottleneck_steps,
)

STEM = "01_wave_u_net_by_the_numbers"
SOLUTION = solution(STEM)
rf = SOLUTION["bottleneck_receptive_field"]


def test_the_solution_is_told_the_numbers_it_found():
    results = run_checks(CHECKS, SOLUTION)
    assert "114675" in results[0].message and "147443" in results[1].message


@pytest.mark.parametrize("wrong, hint", [
    (lambda L, k: 1 + (L + 1) * (k - 1), "decimation"),  # kernels added, decimation ignored
    (lambda L, k: 2**L * (2 * k - 1) - k + 1, "2r - 1"),  # 2r instead of 2r - 1
    (lambda L, k: rf(L, k) + 1, "Walk up"),  # off by one
])
def test_wrong_receptive_fields_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_bottleneck_receptive_field(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda b, L, k: b * 2**L, "too short"),  # spacing only, no receptive field
    (lambda b, L, k: rf(L, k) + b * 2**L, "longer than needed"),  # one step too many
    (lambda b, L, k: rf(L, k) + b - 1, "too short"),  # steps one sample apart
    (lambda b, L, k: rf(L, k) * b, "longer than needed"),  # neighbours share no input
])
def test_wrong_input_lengths_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_input_for_bottleneck_steps(wrong)
