"""Notebook 13's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.nmf import CHECKS

EPS = 1e-10


def _euclidean(V, W, H):  # the other divergence's update
    return H * (W.T @ V) / (W.T @ (W @ H) + EPS)


def _no_denominator(V, W, H):  # forgets W^T 1
    return H * (W.T @ (V / (W @ H + EPS)))


def _gradient_step(V, W, H):  # an additive gradient step of the KL divergence: can go negative
    return H - 5.0 * (W.sum(0)[:, None] - W.T @ (V / (W @ H + EPS)))


def _inverted(V, W, H):  # the ratio upside down
    return H * (W.T @ ((W @ H) / (V + EPS))) / (W.sum(0)[:, None] + EPS)


@pytest.mark.parametrize(
    "wrong, hint",
    [(_euclidean, "differs"), (_no_denominator, "differs"), (_gradient_step, "non-negative"), (_inverted, "differs")],
)
def test_wrong_answers_fail_with_a_hint(wrong, hint):
    (result,) = run_checks(CHECKS, {"kl_activation_update": wrong})
    assert not result.passed and hint in result.message, result.message
