"""Notebook 02's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest
import torch
from torch.nn import functional as F

from course_files import solution
from waveunet_lit.exercises import ExerciseError
from waveunet_lit.exercises.convolution import check_conv1d_loop, check_stack_output_length

STEM = "02_convolution_by_hand"
SOLUTION = solution(STEM)
loop = SOLUTION["conv1d_loop"]


def _convolution(x, w, b=None, stride=1, padding=0, dilation=1):  # the kernel runs backwards
    return loop(x, w.flip(-1), b, stride, padding, dilation)


def _no_bias(x, w, b=None, stride=1, padding=0, dilation=1):
    return loop(x, w, None, stride, padding, dilation)


def _no_dilation(x, w, b=None, stride=1, padding=0, dilation=1):
    return loop(x, w, b, stride, padding, 1)


def _one_sided_padding(x, w, b=None, stride=1, padding=0, dilation=1):
    return F.conv1d(F.pad(x[None], (padding, 0)), w, b, stride=stride, dilation=dilation)[0]


def _transposed(x, w, b=None, stride=1, padding=0, dilation=1):
    return loop(x, w, b, stride, padding, dilation).T


@pytest.mark.parametrize("wrong, hint", [
    (_convolution, "correlates"),
    (_no_bias, "bias is missing"),
    (_no_dilation, "shape"),
    (_one_sided_padding, "shape"),
    (_transposed, "shape"),
    (lambda *args, **kwargs: "not an array", "return a tensor"),
])
def test_wrong_loops_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_conv1d_loop(wrong)


def test_a_loop_ignoring_dilation_is_caught_at_the_dilation_stage():
    with pytest.raises(ExerciseError, match="dilation d, the taps are d samples apart"):
        check_conv1d_loop(_no_dilation)


def _formula(transform):
    def stack(n, layers):
        for k, s, p, d in layers:
            n = transform(n, k, s, p, d)
        return n
    return stack


@pytest.mark.parametrize("wrong, hint", [
    (_formula(lambda n, k, s, p, d: (n + 2 * p - k) // s + 1), "dilation"),
    (_formula(lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s), "Off by one"),
    (_formula(lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1), "Round down"),
    (_formula(lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1), "2p"),
    (lambda n, layers: SOLUTION["stack_output_length"](n, layers[:1]), "layer after layer"),
])
def test_wrong_lengths_fail_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        check_stack_output_length(wrong)


def test_the_grid_covers_every_feature():
    from waveunet_lit.exercises.convolution import conv_settings

    grid = conv_settings()
    assert any(s["dilation"] > 1 for s in grid) and any(s["stride"] > 1 for s in grid) and any(s["padding"] for s in grid)
    assert torch.is_tensor(loop(torch.zeros(1, 5), torch.zeros(1, 1, 2)))
