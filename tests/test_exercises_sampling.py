"""Notebook 03's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from course_files import solution
from waveunet_lit.exercises import ExerciseError
from waveunet_lit.exercises.sampling import check_conv_matrix, check_level_lengths

STEM = "03_down_and_up_sampling"
SOLUTION = solution(STEM)
matrix, lengths = SOLUTION["conv_matrix"], SOLUTION["level_lengths"]


@pytest.mark.parametrize("wrong, hint", [
    (lambda h, n, s: matrix(h.flip(0), n, s), "convolution"),  # kernel flipped
    (lambda h, n, s: matrix(h, n, s).T, "that is W.T"),
    (lambda h, n, s: matrix(h, n, s)[:-1], "m = floor"),  # one output too few
    (lambda h, n, s: matrix(h, n, 1), "shape"),  # stride ignored
    (lambda h, n, s: matrix(h, n, s).roll(1, dims=1), "column o \\* stride"),  # taps shifted by one
])
def test_wrong_matrices_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_conv_matrix(wrong)


def _with_t(n, k, s, p, t_of_m):  # right m, a wrong t, and the extra that this t implies
    m = lengths(n, k, s, p)[0]
    return m, t_of_m(m), n - t_of_m(m)


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, k, s, p: ((n + 2 * p - k) // s,) + lengths(n, k, s, p)[1:], "off by one"),
    (lambda n, k, s, p: ((n - k) // s + 1,) + lengths(n, k, s, p)[1:], "pads p zeros"),
    (lambda n, k, s, p: _with_t(n, k, s, p, lambda m: (m - 1) * s + k), "removes p samples"),
    (lambda n, k, s, p: _with_t(n, k, s, p, lambda m: m * s), "Not m \\* s"),
    (lambda n, k, s, p: lengths(n, k, s, p)[:2] + (0,), "extra = n - t"),
    (lambda n, k, s, p: list(lengths(n, k, s, p)), "tuple"),
])
def test_wrong_level_lengths_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_level_lengths(wrong)
