"""The band above a model's Nyquist frequency: share it out like the top band the model heard.

A model that works at a lower rate than the song (16 kHz for the CPU recipes, 8 kHz for the
demo) separates only the band below its Nyquist frequency ``cutoff``: its stems, resampled
back to the song's rate, hold nothing above about ``cutoff`` (cymbals, breath, sibilants), so
they no longer add up to the mixture there. On the rendered quality set that band holds 1-6 %
of the drums' energy and next to nothing of the other sources, which caps the drums' SDR at
12-18 dB however good the model is.

This post-step gives every source, frame by frame, the share of that missing band that it
holds of the band just below the cutoff (an extension of the model's masks upwards, as
Spleeter's ``mask_extension`` does for the bins above its 11 kHz)::

    P_j(n)     = sum_c sum_{f in [ref_low, start) * cutoff} |Y_jc(f, n)|^2    (the reference band)
    share_j(n) = P_j(n) / sum_k P_k(n)                                      (1 / S where all are 0)
    Y_j(f, n) += share_j(n) * (X(f, n) - sum_k Y_k(f, n))                   for f >= start * cutoff

``X`` and ``Y_j`` are the STFTs of the mixture and of the stems (periodic Hann window, hop
``n_fft / 4``). Below ``start * cutoff`` the stems are left as they are; above it they add up
to the mixture. Only the rest ``mix - sum_j y_j`` is transformed and shared out (the STFT is
linear), so memory is one stem's STFT at a time. Run it before the Wiener post-filter
(:mod:`waveunet_lit.wiener`), which then re-shares the filled band with the sources' spatial
covariances.

Example:
    >>> rate = 44100
    >>> t = torch.arange(rate) / rate
    >>> cymbal = 0.3 * torch.sin(2 * torch.pi * 7000 * t) + 0.2 * torch.sin(2 * torch.pi * 12000 * t)
    >>> bass = torch.sin(2 * torch.pi * 110 * t)
    >>> refs = torch.stack([cymbal, bass])[:, None]  # (S, C, T): two sources, mono
    >>> heard = torch.stack([0.3 * torch.sin(2 * torch.pi * 7000 * t), bass])[:, None]  # a model at 16 kHz
    >>> out = fill_high_band(heard, refs.sum(0), rate, cutoff=8000)
    >>> def err(est): return float(((est - refs) ** 2).mean())
    >>> err(out) < err(heard) / 100, bool((out[1] - heard[1]).abs().max() < 1e-3)
    (True, True)
"""

import torch

__all__ = ["fill_high_band"]


def fill_high_band(
    estimates: torch.Tensor,
    mix: torch.Tensor,
    rate: int,
    cutoff: float,
    n_fft: int = 4096,
    ref_low: float = 0.75,
    start: float = 0.95,
) -> torch.Tensor:
    """Share the part of ``mix (C, T)`` above ``start * cutoff`` that the estimates
    ``(S, C, T)`` miss among them, frame by frame, as they share the band ``[ref_low, start) *
    cutoff`` (see the module docstring); returns new ``(S, C, T)`` estimates.

    Args:
        estimates: the model's stems at the song's rate, same channels and length as ``mix``.
        mix: the song they came from.
        rate: the song's sample rate.
        cutoff: the highest frequency the model could hear, in Hz (half its sample rate).
        n_fft: STFT frame (4096 at 44.1 kHz: 93 ms, as the Wiener post-filter).
        ref_low: the reference band starts at ``ref_low * cutoff``.
        start: the band filled starts at ``start * cutoff`` (below ``cutoff``: resamplers
            roll off just under the Nyquist frequency).

    Returns:
        ``(S, C, T)`` in the estimates' dtype; the estimates themselves when ``cutoff`` is the
        song's Nyquist frequency or above (the model heard the whole band).

    Raises:
        ValueError: shapes that do not match, a bad band or STFT setting, non-finite samples.
    """
    _check(estimates, mix, rate, cutoff, n_fft, ref_low, start)
    S, C, T = estimates.shape
    if cutoff >= rate / 2:  # a model at the song's rate or above heard everything
        return estimates
    hop = n_fft // 4
    window = torch.hann_window(n_fft, dtype=estimates.dtype)
    freqs = torch.fft.rfftfreq(n_fft, 1 / rate)  # (F,)
    ref = (freqs >= ref_low * cutoff) & (freqs < start * cutoff)  # (F,)
    if not ref.any():
        raise ValueError(f"fill_high_band: no STFT bin between {ref_low * cutoff:g} and {start * cutoff:g} Hz at n_fft={n_fft}: raise n_fft")

    def stft(x: torch.Tensor) -> torch.Tensor:  # (C, T) -> (C, F, N)
        return torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)

    power = torch.stack([stft(estimates[j])[:, ref].abs().square().sum((0, 1)) for j in range(S)])  # (S, N)
    total = power.sum(0)  # (N,)
    share = torch.where(total > 0, power / total.clamp_min(torch.finfo(power.dtype).tiny), 1.0 / S)  # (S, N)
    rest = stft(mix - estimates.sum(0))  # (C, F, N): what the stems miss
    rest[:, freqs < start * cutoff] = 0
    out = estimates.clone()
    for j in range(S):
        out[j] += torch.istft(rest * share[j], n_fft, hop, window=window, center=True, length=T)  # (C, T)
    return out


def _check(estimates, mix, rate, cutoff, n_fft, ref_low, start) -> None:
    if estimates.dim() != 3 or mix.dim() != 2 or estimates.shape[1:] != mix.shape:
        raise ValueError(
            f"fill_high_band expects estimates (S, C, T) of a mixture (C, T), got {tuple(estimates.shape)} and {tuple(mix.shape)}"
        )
    if not (estimates.is_floating_point() and mix.is_floating_point()):
        raise ValueError(f"fill_high_band expects real float waveforms, got {estimates.dtype} and {mix.dtype}")
    if rate <= 0 or not cutoff > 0:
        raise ValueError(f"fill_high_band: rate and cutoff must be > 0 Hz, got {rate} and {cutoff}")
    if n_fft < 4 or n_fft % 4:
        raise ValueError(f"fill_high_band: n_fft must be a multiple of 4 (hop n_fft / 4), got {n_fft}")
    if not 0 < ref_low < start <= 1:
        raise ValueError(f"fill_high_band: need 0 < ref_low < start <= 1, got ref_low={ref_low} and start={start}")
    if not (torch.isfinite(estimates).all() and torch.isfinite(mix).all()):
        raise ValueError("fill_high_band: the estimates or the mixture contain NaN or infinite samples")
