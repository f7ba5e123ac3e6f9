"""Notebook 07's exercise checks fail plausible wrong answers, each with its hint, and the
buggy scorers fail the solution's oracles (that every solution passes and every stub fails:
tests/test_course.py)."""

import pytest

from course_files import solution
from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.sdr import CHECKS
from waveunet_lit.lessons.sdr import BUGGY_SCORERS, bsseval_scorer
from waveunet_lit.lessons.toys import two_sources

STEM = "07_sdr_from_scratch"
SOLUTION = solution(STEM)


def only_perfect(scorer, references):
    assert (scorer(references, references) > 40).all()


def no_doubled(scorer, references):
    only_perfect(scorer, references)
    assert (scorer(references.flip(0), references) < 0).all()


def too_strict(scorer, references):
    no_doubled(scorer, references)
    assert (scorer(2 * references, references) > 40).all(), "SDR should ignore the gain"


def never_fails(scorer, references):
    scorer(references, references)


@pytest.fixture(scope="module")
def references():
    return two_sources(rate=8000, seconds=2.0, seed=5)[:, None].double()


@pytest.mark.parametrize("wrong, hint", [(only_perfect, "accept a buggy scorer"), (no_doubled, "rescales"),
                                         (too_strict, "reject a correct scorer"), (never_fails, "accept a buggy scorer")])
def test_wrong_oracle_tests_fail(wrong, hint):
    result = run_checks(CHECKS, {"oracle_tests": wrong})[0]
    assert not result.passed and hint in result.message, result.message


@pytest.mark.parametrize("bug", list(BUGGY_SCORERS))
def test_each_buggy_scorer_fails_the_oracles(bug, references):
    with pytest.raises(AssertionError):
        SOLUTION["oracle_tests"](BUGGY_SCORERS[bug], references)


def test_the_correct_scorer_passes_the_oracles(references):
    SOLUTION["oracle_tests"](bsseval_scorer, references)  # raises if it fails
