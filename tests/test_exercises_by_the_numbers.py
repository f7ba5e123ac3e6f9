"""The checks of notebook 01 accept the solution and reject the stub and plausible wrong answers."""

import runpy
from pathlib import Path

import pytest

from waveunet_lit.exercises import ExerciseError, run_checks
from waveunet_lit.exercises.by_the_numbers import (
    CHECKS, check_bottleneck_receptive_field, check_input_for_bottleneck_steps,
)

COURSE = Path(__file__).resolve().parents[1] / "course"
STEM = "01_wave_u_net_by_the_numbers.py"
SOLUTION = runpy.run_path(str(COURSE / "solutions" / STEM))
rf = SOLUTION["bottleneck_receptive_field"]


def test_the_solution_passes_every_check():
    results = run_checks(CHECKS, SOLUTION)
    assert all(r.passed for r in results), results
    assert "114675" in results[0].message and "147443" in results[1].message


def test_the_stub_fails_every_check():
    results = run_checks(CHECKS, runpy.run_path(str(COURSE / "exercises" / STEM)))
    assert [r.passed for r in results] == [False, False]
    assert all("stub" in r.message for r in results)


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
