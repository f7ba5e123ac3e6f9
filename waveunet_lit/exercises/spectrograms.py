"""Checks for the exercises of ``05_spectrograms_and_masks``.

* ``num_frames(length, n_fft, hop)``: frames of :class:`waveunet_lit.models.STFT` for a signal
  of ``length`` samples, compared with the real transform over many lengths and sizes.
* ``ratio_mask_separate(mix, sources, stft)``: the ratio mask ``|S_j| / sum_k |S_k|`` applied
  to the mixture's STFT (mixture phase) and inverted, compared with
  :func:`waveunet_lit.lessons.spectrogram.apply_mask`.
"""

import math

import torch

from ..lessons.spectrogram import apply_mask, oracle_masks
from ..lessons.toys import two_sources
from ..models.stft import STFT
from . import call, expect

__all__ = ["CHECKS", "check_num_frames", "check_ratio_mask_separate"]


def check_num_frames(fn) -> str:
    """``fn(length, n_fft, hop)`` must equal ``STFT(n_fft, hop)(x).shape[-1]``."""
    for n_fft, hop in ((512, 128), (64, 16), (100, 30), (256, 256)):
        stft = STFT(n_fft, hop, "rectangular" if hop == n_fft else "hann")
        for length in (1, 7, 29, 30, 31, 100, 128, 129, 1000, 8000):
            want = stft(torch.zeros(1, length)).shape[-1]
            got = call(fn, length, n_fft, hop)
            if got == want:
                continue
            expect(got != 1 + length // hop, f"num_frames({length}, {n_fft}, {hop}) = {got}, but the STFT gives {want}: "
                   "it pads the end up to a multiple of the hop first (ceil, not floor)")
            expect(got != 1 + (length - n_fft) // hop, f"num_frames({length}, {n_fft}, {hop}) = {got}, but the STFT gives "
                   f"{want}: frames are centred (frame j sits on sample j * hop), so none is lost at the edges")
            expect(False, f"num_frames({length}, {n_fft}, {hop}) = {got}, but the STFT gives {want}")
    return "num_frames matches the STFT for 40 lengths and sizes"


def check_ratio_mask_separate(fn) -> str:
    """``fn(mix (T,), sources (S, T), stft) -> (S, T)``: ratio-mask estimates."""
    for seed, seconds in ((0, 1.0), (1, 0.77)):
        sources = two_sources(rate=8000, seconds=seconds, seed=seed)  # (S, T)
        mix = sources.sum(0)  # (T,)
        stft = STFT(256, 64)
        T = mix.shape[-1]
        specs, mix_spec = stft(sources), stft(mix)
        want = apply_mask(oracle_masks(specs, "ratio"), mix_spec, stft, T)  # (S, T)
        got = call(fn, mix.clone(), sources.clone(), stft)
        expect(isinstance(got, torch.Tensor) and got.shape == want.shape,
               f"ratio_mask_separate should return a tensor of shape {tuple(want.shape)} (S, T), got "
               f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
        expect(bool(torch.isfinite(got).all()), "the estimates contain NaN or inf: guard the division where all sources are silent")
        if torch.allclose(got, want, atol=1e-4):
            continue
        irm = apply_mask(oracle_masks(specs, "irm"), mix_spec, stft, T)
        expect(not torch.allclose(got, irm, atol=1e-4), "that is the ideal ratio mask (squared magnitudes); "
               "the exercise asks for |S_j| / sum_k |S_k|, magnitudes to the power 1")
        no_phase = stft.inverse((oracle_masks(specs, "ratio") * mix_spec.abs()).to(mix_spec.dtype), T)
        expect(not torch.allclose(got, no_phase, atol=1e-3), "you masked the magnitude |X| and inverted it without a "
               "phase: multiply the mask with the complex X, so that the estimate keeps the mixture's phase")
        expect((got.sum(0) - mix).abs().max() < 1e-3, "the estimates do not add up to the mixture: divide each |S_j| by the sum "
               "of the sources' magnitudes, so that the masks sum to 1 at every bin")
        error = (got - want).pow(2).sum().item() / want.pow(2).sum().item()
        expect(False, f"the estimates are off by {10 * math.log10(max(error, 1e-30)):.1f} dB relative energy: apply the mask "
               "to the complex mixture spectrogram (keep the mixture's phase), then stft.inverse(..., T)")
    return "ratio_mask_separate matches the package's ratio-mask estimates"


CHECKS = {"num_frames": check_num_frames, "ratio_mask_separate": check_ratio_mask_separate}
