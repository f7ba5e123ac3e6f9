"""Exercise of notebook 09 (data and augmentation): an augmentation that keeps the sum.

The notebook runs the check: ``check_remix_gains(remix_gains)`` (``waveunet_lit.exercises.data``).
"""

import numpy as np


def remix_gains(mix: np.ndarray, sources: np.ndarray, rng: np.random.Generator, low: float = 0.7, high: float = 1.0):
    """Give every source its own random gain and return ``(mix, sources)`` again.

    Args:
        mix: ``(C, T)`` the mixture of the example.
        sources: ``(S, C, T)`` its sources.
        rng: draw the ``S`` gains from it, uniformly in ``[low, high]`` (the Wave-U-Net paper's
            augmentation, Section 4.2).

    Returns:
        ``(new_mix, new_sources)``: ``new_sources[s] = gain[s] * sources[s]`` and a mixture that
        is exactly the sum of the new sources (the old ``mix`` is no longer right).
    """
    raise NotImplementedError("draw S gains, scale each source, and recompute the mixture")


if __name__ == "__main__":
    from waveunet_lit.exercises import data, report

    raise SystemExit(report(data.CHECKS, globals()))
