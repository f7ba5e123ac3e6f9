"""Notebook 11's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import math

import pytest

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.separation import CHECKS


def _unrounded(model, length, segment):  # hop = the whole output, not whole periods
    return max(math.ceil(length / model.output_length(model.valid_length(segment))), 1)


def _floor(model, length, segment):  # forgets the last, partial tile
    hop = model.output_length(model.valid_length(segment)) // 2**model.levels * 2**model.levels
    return max(length // hop, 1)


def _segment_hop(model, length, segment):  # takes the wanted segment as the hop
    return max(math.ceil(length / segment), 1)


def _no_minimum(model, length, segment):  # zero tiles for an empty song is right, but songs have samples
    hop = model.output_length(model.valid_length(segment)) // 2**model.levels * 2**model.levels
    return math.ceil((length - 1) / hop)


@pytest.mark.parametrize("wrong", [_unrounded, _floor, _segment_hop, _no_minimum])
def test_wrong_answers_fail_with_a_hint(wrong):
    (result,) = run_checks(CHECKS, {"count_tiles": wrong})
    assert not result.passed and "tile(s)" in result.message, result.message
