"""The check of notebook 08's exercise accepts the solution and rejects the stub and wrong answers."""

import runpy
from pathlib import Path

import numpy as np

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.sdr_tables import CHECKS

COURSE = Path(__file__).resolve().parents[1] / "course"
STEM = "08_reading_sdr_tables"


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


def test_solution_passes():
    results = run_checks(CHECKS, runpy.run_path(str(COURSE / "solutions" / f"{STEM}.py")))
    assert [r.passed for r in results] == [True], results


def test_stub_fails():
    results = run_checks(CHECKS, runpy.run_path(str(COURSE / "exercises" / f"{STEM}.py")))
    assert not results[0].passed and "stub" in results[0].message


def test_wrong_answers_fail_with_a_hint():
    hints = {}
    for wrong in (pooled_median, mean_of_medians, nan_blind, median_of_means):
        result = run_checks(CHECKS, {"sisec_sdr": wrong})[0]
        assert not result.passed, wrong.__name__
        hints[wrong.__name__] = result.message
    assert "pooled" in hints["pooled_median"]
    assert "NaN" in hints["nan_blind"]
