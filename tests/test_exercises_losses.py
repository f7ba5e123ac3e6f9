"""Notebook 06's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import math

import pytest
import torch

from course_files import solution
from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.losses import CHECKS
from waveunet_lit.losses import check_pair

STEM = "06_losses"
SOLUTION = solution(STEM)
log_magnitude_l1 = SOLUTION["log_magnitude_l1"]


def _log_mag(x, eps):
    T = x.shape[-1]
    return torch.log(torch.stft(x.reshape(-1, T), 256, 64, window=torch.hann_window(256), return_complex=True).abs() + eps)


def no_eps(estimate, target):
    check_pair(estimate, target, "no_eps")
    return torch.mean(torch.abs(_log_mag(estimate, 0.0) - _log_mag(target, 0.0)))


def detached(estimate, target):
    return log_magnitude_l1(estimate.detach(), target)


def per_signal(estimate, target):
    check_pair(estimate, target, "per_signal")
    return torch.abs(_log_mag(estimate, 1e-5) - _log_mag(target, 1e-5)).mean((-2, -1))


def no_shape_check(estimate, target):
    return torch.mean(torch.abs(_log_mag(estimate, 1e-5) - _log_mag(target, 1e-5)))


def signed(estimate, target):
    check_pair(estimate, target, "signed")
    return torch.mean(_log_mag(estimate, 1e-5) - _log_mag(target, 1e-5))


@pytest.mark.parametrize("wrong, hint", [
    (lambda snr, gain: -snr, "ignores the gain"),
    (lambda snr, gain: snr + 20 * math.log10(gain), "sign"),
    (lambda snr, gain: -(snr + 10 * math.log10(gain)), "package's loss gives"),
])
def test_wrong_values_fail(wrong, hint):
    result = run_checks({"neg_si_sdr_of": CHECKS["neg_si_sdr_of"]}, {"neg_si_sdr_of": wrong})[0]
    assert not result.passed and hint in result.message, result.message


@pytest.mark.parametrize("wrong, hint", [(no_eps, "eps"), (detached, "no gradient"), (per_signal, "scalar"),
                                         (no_shape_check, "ValueError"), (signed, "quieter estimate")])
def test_contract_breakers_fail(wrong, hint):
    result = run_checks({"log_magnitude_l1": CHECKS["log_magnitude_l1"]}, {"log_magnitude_l1": wrong})[0]
    assert not result.passed and hint in result.message, result.message
