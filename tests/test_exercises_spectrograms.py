"""Notebook 05's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest

from course_files import solution
from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.spectrograms import CHECKS

STEM = "05_spectrograms_and_masks"
SOLUTION = solution(STEM)


def floor_frames(length, n_fft, hop):
    return 1 + length // hop  # torch.stft without the end padding


def uncentred_frames(length, n_fft, hop):
    return 1 + (length - n_fft) // hop


def irm_separate(mix, sources, stft):
    p = stft(sources).abs() ** 2
    return stft.inverse(p / p.sum(0, keepdim=True).clamp_min(1e-12) * stft(mix), mix.shape[-1])


def unnormalised_separate(mix, sources, stft):
    return stft.inverse(stft(sources).abs() * stft(mix), mix.shape[-1])


def phase_dropped_separate(mix, sources, stft):
    m = stft(sources).abs()
    masked = m / m.sum(0, keepdim=True).clamp_min(1e-12) * stft(mix).abs()
    return stft.inverse(masked.to(stft(mix).dtype), mix.shape[-1])


@pytest.mark.parametrize("wrong, hint", [(floor_frames, "ceil, not floor"), (uncentred_frames, "centred")])
def test_wrong_frame_counts_fail(wrong, hint):
    result = run_checks({"num_frames": CHECKS["num_frames"]}, {"num_frames": wrong})[0]
    assert not result.passed and hint in result.message, result.message


@pytest.mark.parametrize("wrong, hint", [(irm_separate, "ideal ratio mask"), (unnormalised_separate, "add up"),
                                         (phase_dropped_separate, "phase")])
def test_wrong_masks_fail(wrong, hint):
    result = run_checks({"ratio_mask_separate": CHECKS["ratio_mask_separate"]}, {"ratio_mask_separate": wrong})[0]
    assert not result.passed and hint in result.message, result.message
