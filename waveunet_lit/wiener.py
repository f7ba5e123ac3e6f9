"""Multichannel Wiener filtering of separated sources: a post-filter for any model's estimates.

Nugraha, Liutkus & Vincent, "Multichannel audio source separation with deep neural networks",
IEEE/ACM TASLP 24(9), 2016; the post-processing of Open-Unmix (Stöter, Uhlich, Liutkus &
Mitsufuji, JOSS 2019) and of many SiSEC 2018 entries.

In each STFT bin ``(f, n)`` the ``C`` channels of source ``j`` are modelled as a zero-mean
complex Gaussian with covariance ``v_j(f, n) R_j(f)``: a power ``v_j`` that changes from bin
to bin and a ``C x C`` spatial covariance ``R_j`` per frequency (where the source sits between
the loudspeakers). Given the mixture ``x = sum_j s_j``, the posterior mean of each source is
the Wiener estimate::

    s_j = v_j R_j (sum_k v_k R_k)^-1 x

The model's estimates ``y_j`` give the parameters, and each of ``iterations`` EM steps
re-estimates them from the previous step's output::

    v_j(f, n) = 1/C sum_c |y_jc(f, n)|^2
    R_j(f)    = sum_n y_j(f, n) y_j(f, n)^H / sum_n v_j(f, n)
    y_j       = v_j R_j (sum_k v_k R_k + eps I)^-1 x

So the estimates add up to the mixture (to within ``eps``) and every bin of the mixture is
shared out by the sources' powers: leakage a model left in a source moves to the source whose
power dominates the bin. ``R_j`` is estimated on chunks of ``frames`` STFT frames (Open-Unmix's
default, 300, is about 7 s at hop 1024 and 44.1 kHz), each chunk on its own: sources may move
in the stereo field, and the memory stays that of one chunk however long the song.

The STFT is a periodic Hann window with hop ``n_fft / 4`` by default, frame ``n`` centred on
sample ``n * hop`` (as ``torch.stft(center=True)``, zero-padded at the ends), inverted by
overlap-add divided by the summed squared windows: with ``iterations=0`` nothing changes.

Example:
    >>> g = torch.Generator().manual_seed(0)
    >>> t = torch.arange(44100) / 44100
    >>> low = torch.sin(2 * torch.pi * 220 * t).expand(2, -1)    # (C, T): a 220 Hz tone
    >>> high = 0.5 * torch.sin(2 * torch.pi * 3000 * t).expand(2, -1)
    >>> mix = low + high
    >>> leaky = torch.stack([low + 0.3 * high, high + 0.3 * low])  # (S, C, T): each leaks into the other
    >>> out = wiener(leaky, mix)
    >>> def err(est): return float(((est - torch.stack([low, high])) ** 2).mean())
    >>> err(out) < err(leaky) / 5, bool(torch.allclose(out.sum(0), mix, atol=1e-4))
    (True, True)
"""

import torch
import torch.nn.functional as F

__all__ = ["FRAME", "frame_problem", "wiener"]

#: The post-filter's STFT frame by default: 93 ms at 44.1 kHz, as Open-Unmix.
FRAME = 4096


def frame_problem(n_fft) -> str | None:
    """What is wrong with ``n_fft`` as the frame of :func:`wiener` at its default hop (a
    quarter of the frame), or ``None``; the caller names the setting.

    Example:
        >>> frame_problem(8192), frame_problem(6)
        (None, 'must be a multiple of 4 samples (the hop is a quarter of it), got 6')
    """
    if n_fft < 4 or n_fft % 4:
        return f"must be a multiple of 4 samples (the hop is a quarter of it), got {n_fft}"
    return None


def wiener(
    estimates: torch.Tensor,
    mix: torch.Tensor,
    iterations: int = 1,
    n_fft: int = FRAME,
    hop_length: int | None = None,
    frames: int = 300,
    eps: float = 1e-10,
) -> torch.Tensor:
    """Refine the estimates ``(S, C, T)`` of the sources of ``mix (C, T)`` by multichannel
    Wiener filtering (see the module docstring); returns ``(S, C, T)`` in the estimates' dtype.

    Args:
        estimates: the model's sources, on the CPU, same channels and length as ``mix``.
        mix: the mixture they came from.
        iterations: EM steps; 0 returns the estimates unchanged.
        n_fft: STFT frame (4096 at 44.1 kHz, as Open-Unmix: 93 ms).
        hop_length: between frames (default ``n_fft // 4``); it divides ``n_fft`` and is at
            most ``n_fft // 2``, so that every sample is covered by more than one window.
        frames: STFT frames per chunk with its own spatial covariances.
        eps: regularization of the mixture covariance, relative to the chunk's mean power.

    Raises:
        ValueError: shapes that do not match, a negative ``iterations``, a bad STFT setting,
            non-finite samples.
    """
    hop = n_fft // 4 if hop_length is None else hop_length
    _check(estimates, mix, iterations, n_fft, hop, frames, eps)
    if iterations == 0:
        return estimates
    S, C, T = estimates.shape
    n_frames = T // hop + 1  # as torch.stft(center=True)
    length = (n_frames - 1) * hop + n_fft
    pad = n_fft // 2
    window = torch.hann_window(n_fft, dtype=torch.float64)  # (n_fft,)
    mix_frames = F.pad(mix.double(), (pad, length - T - pad)).unfold(-1, n_fft, hop)  # (C, N, n_fft) views
    est_frames = F.pad(estimates.double(), (pad, length - T - pad)).unfold(-1, n_fft, hop)  # (S, C, N, n_fft)
    out = torch.zeros(S, C, length, dtype=torch.float64)
    for n0 in range(0, n_frames, frames):
        n1 = min(n0 + frames, n_frames)
        x = torch.fft.rfft(mix_frames[:, n0:n1] * window)  # (C, K, F)
        y = torch.fft.rfft(est_frames[:, :, n0:n1] * window)  # (S, C, K, F)
        for _ in range(iterations):
            y = _em_step(y, x, eps)
        chunk = torch.fft.irfft(y, n_fft) * window  # (S, C, K, n_fft)
        out[..., n0 * hop : (n1 - 1) * hop + n_fft] += _overlap_add(chunk, hop)
    weight = _overlap_add((window**2).expand(n_frames, n_fft), hop)  # (length,)
    return (out[..., pad : pad + T] / weight[pad : pad + T]).to(estimates.dtype)


def _em_step(y: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    """One EM step: ``y (S, C, K, F)`` complex estimates, ``x (C, K, F)`` the mixture's
    STFT; returns the new ``(S, C, K, F)``. Channels come first, so every sum over them is a
    sum of whole ``(K, F)`` slabs."""
    C = x.shape[0]
    v = sum(y[:, c].real.square() + y[:, c].imag.square() for c in range(C)) / C  # (S, K, F): powers
    norm = 1 / (v.sum(1) + 1e-300)  # (S, F)
    R = [[(y[:, c] * y[:, d].conj()).sum(1) * norm for d in range(C)] for c in range(C)]  # [c][d]: (S, F)
    vc = v.to(y.dtype)  # (S, K, F), complex once for the products below
    Cxx = torch.stack([torch.stack([(vc * R[c][d][:, None]).sum(0) for d in range(C)], -1)
                       for c in range(C)], -2)  # (K, F, C, C): the mixture's covariance
    reg = eps * float(sum(x[c].real.square().mean() + x[c].imag.square().mean() for c in range(C))) + 1e-300
    Cxx = Cxx + reg * torch.eye(C, dtype=Cxx.dtype)
    u = torch.linalg.solve(Cxx, x.permute(1, 2, 0)[..., None])[..., 0]  # (K, F, C): Cxx^-1 x
    return torch.stack([v * sum(R[c][d][:, None] * u[..., d] for d in range(C)) for c in range(C)], 1)  # (S, C, K, F)


def _overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """``(..., K, n) -> (..., (K - 1) * hop + n)``: frame ``k`` added at ``k * hop`` (``hop``
    divides ``n``: the ``n / hop`` slices of every frame are added as ``n / hop`` shifted slabs)."""
    *lead, K, n = frames.shape
    parts = n // hop
    out = frames.new_zeros(*lead, K + parts - 1, hop)
    slices = frames.reshape(*lead, K, parts, hop)
    for r in range(parts):
        out[..., r : r + K, :] += slices[..., r, :]
    return out.reshape(*lead, -1)


def _check(estimates, mix, iterations, n_fft, hop, frames, eps) -> None:
    if estimates.dim() != 3 or mix.dim() != 2 or estimates.shape[1:] != mix.shape:
        raise ValueError(
            f"wiener expects estimates (S, C, T) of a mixture (C, T), got {tuple(estimates.shape)} and {tuple(mix.shape)}"
        )
    if estimates.is_complex() or mix.is_complex():
        raise ValueError("wiener expects real waveforms, got complex tensors")
    if iterations < 0:
        raise ValueError(f"wiener: iterations must be >= 0, got {iterations}")
    if n_fft < 2 or n_fft % 2:
        raise ValueError(f"wiener: n_fft must be an even number >= 2, got {n_fft}")
    if not 1 <= hop <= n_fft // 2 or n_fft % hop:
        raise ValueError(f"wiener: hop_length must divide n_fft = {n_fft} and be at most n_fft / 2, got {hop}")
    if frames < 1:
        raise ValueError(f"wiener: frames must be >= 1, got {frames}")
    if not eps > 0:
        raise ValueError(f"wiener: eps must be > 0, got {eps}")
    if not (torch.isfinite(estimates).all() and torch.isfinite(mix).all()):
        raise ValueError("wiener: the estimates or the mixture contain NaN or infinite samples")
