"""Notebook 09's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.data import CHECKS


def _old_mix(mix, sources, rng, low=0.7, high=1.0):  # scales the sources, keeps the old mixture
    return mix, sources * rng.uniform(low, high, size=(sources.shape[0], 1, 1))


def _one_gain(mix, sources, rng, low=0.7, high=1.0):  # one gain for everything: the balance never changes
    g = rng.uniform(low, high)
    return mix * g, sources * g


def _wrong_range(mix, sources, rng, low=0.7, high=1.0):  # gains in [0, 1] whatever low and high say
    s = sources * rng.uniform(0, 1, size=(sources.shape[0], 1, 1))
    return s.sum(0), s


def _noise(mix, sources, rng, low=0.7, high=1.0):  # adds noise to each source: sum kept, not a gain
    s = sources * rng.uniform(low, high, size=(sources.shape[0], 1, 1)) + 0.01 * rng.standard_normal(sources.shape)
    return s.sum(0), s


@pytest.mark.parametrize(
    "wrong, hint",
    [(_old_mix, "not the sum"), (_one_gain, "its own random gain"), (_wrong_range, "[low, high]"), (_noise, "one number")],
)
def test_wrong_answers_fail_with_a_hint(wrong, hint):
    (result,) = run_checks(CHECKS, {"remix_gains": wrong})
    assert not result.passed and hint in result.message, result.message
