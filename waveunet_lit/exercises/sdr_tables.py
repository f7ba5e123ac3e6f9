"""Checks for the exercise of ``08_reading_sdr_tables``.

* ``sisec_sdr(frames, method, target)``: the SiSEC 2018 number by hand (median over 1 s
  frames of each track, NaN frames left out, then median over tracks), compared with
  :func:`waveunet_lit.report.aggregate` on frame tables built so that the pooled median, the
  mean of the track medians and a NaN-blind median all give other numbers.
"""

import math

import numpy as np

from ..report import aggregate, frames_table
from . import call, expect

__all__ = ["CHECKS", "check_sisec_sdr", "example_frames"]


def example_frames(seed: int):
    """A small frame table (2 methods, 3-5 tracks of 3-9 frames, some NaN, one very low
    track) on which the aggregations disagree."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(int(rng.integers(3, 6))):
        n = int(rng.integers(3, 10))
        for method, level in (("model", 5.0), ("mixture", 1.0)):
            scores = level + rng.normal(0, 3, n) - (20 if t == 0 else 0)
            scores[rng.random(n) < 0.2] = math.nan
            scores[0] = level + t  # every track has at least one finite frame
            rows += [{"method": method, "track": f"track {t}", "target": "vocals", "metric": "SDR", "time": float(i),
                      "score": float(s)} for i, s in enumerate(scores)]
    return frames_table(rows)


def check_sisec_sdr(fn) -> str:
    """``fn(frames, method, target) -> float`` must equal the SiSEC aggregation."""
    for seed in range(6):
        frames = example_frames(seed)
        for method in ("model", "mixture"):
            want = aggregate(frames, ["model", "mixture"], ("vocals",))["aggregates"]["sisec"][method]["vocals"]["SDR"]
            got = call(fn, frames.copy(), method, "vocals")
            expect(isinstance(got, (float, int, np.floating)), f"sisec_sdr should return a float, got {type(got).__name__}")
            got = float(got)
            expect(not math.isnan(got), "sisec_sdr returned NaN: leave NaN frames out (np.nanmedian, or dropna())")
            sel = frames[(frames.method == method) & (frames.metric == "SDR")]
            pooled = float(np.nanmedian(sel.score))
            expect(not (abs(got - pooled) < 1e-9 and abs(want - pooled) > 1e-6),
                   "that is the pooled median of all frames (the Wave-U-Net paper's number): take one median per track first")
            expect(abs(got - want) < 1e-9, f"sisec_sdr(frames, {method!r}, 'vocals') = {got:.4f} dB, expected {want:.4f} dB: "
                   "median over the frames of each track, then the median (not the mean) of those medians")
    return "sisec_sdr agrees with report.aggregate on 6 frame tables"


CHECKS = {"sisec_sdr": check_sisec_sdr}
