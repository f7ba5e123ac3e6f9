"""Checks of notebook 09 (data and augmentation).

``remix_gains(mix, sources, rng, low, high) -> (mix, sources)``: an augmentation of a whole
example that gives every source its own random gain and returns a mixture that is still the
sum of the sources.
"""

import numpy as np

from . import call, expect

__all__ = ["CHECKS", "check_remix_gains"]


def _example(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sources = (0.3 * rng.standard_normal((4, 2, 500))).astype(np.float32)  # (S, C, T)
    return sources.sum(0), sources


def check_remix_gains(remix_gains) -> str:
    """Run ``remix_gains`` on random examples and check shapes, the sum and the gains."""
    low, high = 0.5, 1.0
    all_gains = []
    for seed in range(5):
        mix, sources = _example(seed)
        out = call(remix_gains, mix.copy(), sources.copy(), np.random.default_rng(seed), low, high)
        expect(isinstance(out, tuple) and len(out) == 2, "return a pair (mix, sources)")
        new_mix, new_sources = (np.asarray(a) for a in out)
        expect(new_sources.shape == sources.shape, f"sources must keep their shape {sources.shape}, got {new_sources.shape}")
        expect(new_mix.shape == mix.shape, f"the mixture must keep its shape {mix.shape}, got {new_mix.shape}")
        expect(
            np.allclose(new_mix, new_sources.sum(0), atol=1e-5),
            "the returned mixture is not the sum of the returned sources: compute it from the scaled sources",
        )
        gains = (new_sources * sources).sum(axis=(1, 2)) / (sources**2).sum(axis=(1, 2))  # (S,): least-squares gain
        expect(
            np.allclose(new_sources, gains[:, None, None] * sources, atol=1e-5),
            "each source must only be multiplied by one number (its gain), nothing else",
        )
        expect(
            bool(np.all((gains >= low - 1e-6) & (gains <= high + 1e-6))),
            f"gains must lie in [low, high] = [{low}, {high}], got {np.round(gains, 3).tolist()}",
        )
        all_gains.append(gains)
    spread = np.ptp(np.stack(all_gains), axis=1)  # (examples,): how different the gains of one example are
    expect(
        bool(np.all(spread > 1e-3)),
        "every source needs its own random gain: one gain for all sources does not change the balance of the mix",
    )
    return "remix_gains keeps mix == sum(sources) and gives every source its own gain: well done"


CHECKS = {"remix_gains": check_remix_gains}
