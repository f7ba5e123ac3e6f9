"""Notebook 08's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import numpy as np

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.sdr_tables import CHECKS


def _sel(frames, method, target):
    return frames[(frames.method == method) & (frames.target == target) & (frames.metric == "SDR")]


def pooled_median(frames, method, target):
    return float(np.nanmedian(_sel(frames, method, target).score))


def mean_of_medians(frames, method, target):
    return float(_sel(frames, method, target).groupby("track").score.median().mean())


def nan_blind(frames, method, target):
    return float(np.median([np.median(g.to_numpy()) for _, g in _sel(frames, method, target).groupby("track").score]))


def median_of_means(frames, method, target):
    return float(_sel(frames, method, target).groupby("track").score.mean().median())


def test_wrong_answers_fail_with_a_hint():
    hints = {}
    for wrong in (pooled_median, mean_of_medians, nan_blind, median_of_means):
        result = run_checks(CHECKS, {"sisec_sdr": wrong})[0]
        assert not result.passed, wrong.__name__
        hints[wrong.__name__] = result.message
    assert "pooled" in hints["pooled_median"]
    assert "NaN" in hints["nan_blind"]
