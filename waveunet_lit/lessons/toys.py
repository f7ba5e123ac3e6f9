"""Generated two-source mixtures for the notebooks on spectrograms, losses and SDR.

A "voice" (a harmonic tone that moves between notes, with vibrato: narrow lines in a
spectrogram) and "drums" (decaying noise bursts: broad vertical stripes). The two overlap in
time but much less in time-frequency, which is what masks exploit. Every draw is seeded.
"""

import math

import torch

__all__ = ["two_sources", "SOURCES"]

#: Source names of :func:`two_sources`, in order.
SOURCES = ("voice", "drums")


def two_sources(rate: int = 8000, seconds: float = 2.0, seed: int = 0, harmonics: int = 6) -> torch.Tensor:
    """A voice-like tone and drum-like bursts, ``(2, T)`` float32, ``T = round(rate * seconds)``.

    The voice plays one random note (110-440 Hz) every 0.5 s, with ``harmonics`` partials falling off as ``1 / k`` and a 5 Hz vibrato; the drums
    hit every 0.25 s (some hits skipped) with 40 ms decays. Each source peaks below 0.5, so the
    mixture stays within [-1, 1]. No source is silent.

    Example:
        >>> x = two_sources(rate=8000, seconds=1.0)
        >>> x.shape, bool(x.abs().max() < 1), bool((x.abs().amax(-1) > 0.05).all())
        (torch.Size([2, 8000]), True, True)
    """
    if rate < 1000 or seconds <= 0:
        raise ValueError(f"two_sources needs rate >= 1000 Hz and seconds > 0, got {rate}, {seconds}")
    g = torch.Generator().manual_seed(seed)
    T = round(rate * seconds)
    t = torch.arange(T, dtype=torch.float64) / rate
    # voice: one note each 0.5 s, frequencies on a semitone grid
    notes = 110 * 2 ** (torch.randint(0, 25, (math.ceil(seconds * 2) + 1,), generator=g).double() / 12)
    f0 = notes[(t * 2).long()] * (1 + 0.01 * torch.sin(2 * math.pi * 5 * t))  # (T,) with vibrato
    phase = 2 * math.pi * torch.cumsum(f0, 0) / rate
    voice = sum(torch.sin(k * phase) / k for k in range(1, harmonics + 1) if k * f0.max() < rate / 2)
    onset = (t * 2) % 1  # a soft attack at each note
    voice = 0.3 * voice * torch.clamp(onset * 20, max=1.0) / 1.6
    # drums: a noise burst with an exponential decay every 0.25 s, about 1 in 4 skipped
    hits = torch.rand(math.ceil(seconds * 4) + 1, generator=g) > 0.25
    hits[0] = True
    since = (t * 4) % 1 / 4  # seconds since the last grid point
    envelope = torch.exp(-since / 0.04) * hits[(t * 4).long()].double()
    drums = 0.45 * (2 * torch.rand(T, generator=g, dtype=torch.float64) - 1) * envelope
    return torch.stack([voice, drums]).float()  # (2, T)
