"""The STFT front end that every spectrogram model shares.

A spectrogram model keeps the waveform contract of :mod:`waveunet_lit.models.common`: it takes
``mix (B, C, T)`` and returns ``(B, S, C, T)``. Inside, it goes through this module:

    waveform (..., C, T)  --STFT.forward-->  complex spectrogram (..., C, F, N)
    ... estimate magnitudes or masks ...
    complex spectrogram (..., C, F, N)  --STFT.inverse(length=T)-->  waveform (..., C, T)

with ``F = n_fft // 2 + 1`` frequency bins and ``N = num_frames(T)`` frames.

* **Perfect reconstruction.** ``inverse(forward(x), T) == x`` to float precision (< 1e-6) for
  *every* length ``T >= 1``: the signal is zero-padded at the end to a multiple of the hop, so
  the last sample lies under the centre of a frame, where the window is large (without it,
  the last samples are divided by a tiny window-overlap sum and lose 3-4 digits).
* **Invertibility is checked at construction.** Overlap-add inverts the STFT only where the
  summed squared windows (the "NOLA" envelope, Griffin & Lim 1984) are non-zero; we compute
  that envelope and refuse an ``n_fft``/``hop_length``/``window`` whose envelope drops below
  1% of its peak (e.g. ``hop_length > n_fft``, or a Hann window with ``hop_length == n_fft``).
* **U-Net padding.** :func:`pad_to_multiple` pads frequency and time to a multiple of
  ``2 ** levels`` (zeros at the high end) and :func:`crop_to` takes the padding away again.
* **Magnitude + mixture phase** (:func:`with_phase_of`) and **complex masks**
  (:func:`apply_complex_mask`) turn a model's estimate back into complex spectrograms.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["STFT", "pad_to_multiple", "crop_to", "with_phase_of", "apply_complex_mask", "WINDOWS"]

#: Periodic analysis windows by name.
WINDOWS = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "rectangular": torch.ones,
}


class STFT(nn.Module):
    """A short-time Fourier transform and its exact inverse on ``(..., C, T)`` audio.

    Frames are centred (``center=True``, zero padding), so frame ``j`` is centred on sample
    ``j * hop_length``.

    Args:
        n_fft: FFT size = window length in samples (>= 2).
        hop_length: samples between frames, ``1 <= hop_length <= n_fft``.
        window: ``"hann"``, ``"hamming"``, ``"blackman"`` or ``"rectangular"`` (periodic).

    Raises:
        ValueError: at construction, when the pair cannot be inverted (see module docstring).

    Shape:
        ``forward``: ``(..., C, T) -> (..., C, F, N)`` complex, ``F = n_fft // 2 + 1``.
        ``inverse``: ``(..., C, F, N) -> (..., C, length)`` real.

    Example:
        >>> stft = STFT(n_fft=64, hop_length=16)
        >>> x = torch.randn(2, 3, 1, 100)
        >>> X = stft(x)
        >>> X.shape, stft.num_frames(100)
        (torch.Size([2, 3, 1, 33, 8]), 8)
        >>> bool((stft.inverse(X, 100) - x).abs().max() < 1e-6)
        True
    """

    def __init__(self, n_fft: int = 1024, hop_length: int = 512, window: str = "hann"):
        super().__init__()
        if n_fft < 2:
            raise ValueError(f"STFT: n_fft must be >= 2, got {n_fft}")
        if not 1 <= hop_length <= n_fft:
            raise ValueError(
                f"STFT: hop_length must be between 1 and n_fft = {n_fft}, got {hop_length} "
                "(a hop longer than the window skips samples, which no inverse can recover)"
            )
        if window not in WINDOWS:
            raise ValueError(f"STFT: window must be one of {sorted(WINDOWS)}, got {window!r}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.window_name = window
        # A buffer, so that the window follows the module to the GPU; not saved in checkpoints
        # because it is a function of the arguments.
        self.register_buffer("window", WINDOWS[window](n_fft), persistent=False)
        ratio = self._envelope_ratio()
        if ratio < 0.01:
            raise ValueError(
                f"STFT: n_fft={n_fft}, hop_length={hop_length}, window={window!r} cannot be inverted "
                f"reliably: the overlap-added squared windows fall to {ratio:.2g} of their peak "
                "(NOLA condition); use a smaller hop_length, e.g. n_fft // 2 or n_fft // 4"
            )

    @property
    def bins(self) -> int:
        """Number of frequency bins F."""
        return self.n_fft // 2 + 1

    def num_frames(self, length: int) -> int:
        """Frames N for ``length`` samples: ``1 + ceil(length / hop)`` (see :meth:`forward`)."""
        if length < 1:
            raise ValueError(f"STFT: the signal needs at least 1 sample, got {length}")
        return 1 + math.ceil(length / self.hop_length)

    def _envelope_ratio(self) -> float:
        """min / max of the squared-window overlap-add over the samples that forward() keeps,
        computed for a signal long enough to contain the edges and the periodic interior."""
        n, hop = self.n_fft, self.hop_length
        length = hop * math.ceil(3 * n / hop)  # padded length, a multiple of hop
        frames = self.num_frames(length)
        env = torch.zeros((frames - 1) * hop + n, dtype=torch.float64)
        w2 = self.window.double() ** 2
        for j in range(frames):
            env[j * hop : j * hop + n] += w2
        kept = env[n // 2 : n // 2 + length]  # the samples of the (padded) signal
        return (kept.min() / kept.max()).item()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Complex spectrogram of ``x (..., C, T)`` -> ``(..., C, F, N)``."""
        *lead, T = x.shape
        pad = self.hop_length * math.ceil(T / self.hop_length) - T
        # End padding puts the last sample under a frame centre (see the module docstring).
        x = F.pad(x.reshape(-1, T), (0, pad))  # (B', T + pad)
        spec = torch.stft(
            x,
            self.n_fft,
            self.hop_length,
            window=self.window.to(x.dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # (B', F, N)
        return spec.reshape(*lead, self.bins, spec.shape[-1])  # (..., C, F, N)

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Waveform of ``length`` samples from ``spec (..., C, F, N)`` -> ``(..., C, length)``."""
        *lead, Fb, N = spec.shape
        if Fb != self.bins or N != self.num_frames(length):
            raise ValueError(
                f"STFT.inverse expects (..., C, F={self.bins}, N={self.num_frames(length)}) for "
                f"length {length}, got {tuple(spec.shape)}"
            )
        padded = self.hop_length * (N - 1)
        x = torch.istft(
            spec.reshape(-1, Fb, N),
            self.n_fft,
            self.hop_length,
            window=self.window.to(spec.real.dtype),
            center=True,
            length=padded,
        )  # (B', T + pad)
        return x[..., :length].reshape(*lead, length)  # (..., C, T)


def pad_to_multiple(x: torch.Tensor, multiple_f: int, multiple_n: int) -> torch.Tensor:
    """Zero-pad the last two dimensions ``(F, N)`` up to multiples of ``multiple_f`` and
    ``multiple_n`` (padding goes at the high-frequency end and after the last frame).

    Works on real and complex tensors. :func:`crop_to` undoes it.

    Example:
        >>> pad_to_multiple(torch.ones(2, 513, 33), 8, 8).shape
        torch.Size([2, 520, 40])
    """
    Fb, N = x.shape[-2:]
    pad_f = -Fb % multiple_f
    pad_n = -N % multiple_n
    if x.is_complex():  # F.pad has no complex constant mode on every backend: pad real views
        return torch.view_as_complex(F.pad(torch.view_as_real(x), (0, 0, 0, pad_n, 0, pad_f)).contiguous())
    return F.pad(x, (0, pad_n, 0, pad_f))  # (..., F', N')


def crop_to(x: torch.Tensor, bins: int, frames: int) -> torch.Tensor:
    """Keep the first ``bins`` frequencies and ``frames`` frames of ``(..., F', N')``.

    Example:
        >>> crop_to(torch.ones(2, 520, 40), 513, 33).shape
        torch.Size([2, 513, 33])
    """
    if x.shape[-2] < bins or x.shape[-1] < frames:
        raise ValueError(f"crop_to: cannot crop {tuple(x.shape[-2:])} to ({bins}, {frames})")
    return x[..., :bins, :frames]


def with_phase_of(magnitude: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """Complex spectrogram with the given ``magnitude`` and the phase of the complex ``mix``.

    ``mix`` must broadcast against ``magnitude``: for ``magnitude (B, S, C, F, N)`` pass
    ``mix[:, None]`` of ``mix (B, C, F, N)``. Where the mixture is exactly zero its phase is 0.

    Example:
        >>> mix = torch.tensor([3 + 4j, -2j])
        >>> out = with_phase_of(torch.tensor([10.0, 1.0]), mix)
        >>> torch.allclose(out, torch.tensor([6 + 8j, -1j]))
        True
    """
    phase = torch.angle(mix).broadcast_to(magnitude.shape)
    return torch.polar(magnitude.to(phase.dtype), phase)  # float32 even under mixed precision


def apply_complex_mask(mask: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """Multiply the complex ``mix (..., C, F, N)`` by a complex mask.

    Args:
        mask: complex ``(..., C, F, N)``, or real ``(..., C, F, N, 2)`` holding (real, imag).
        mix: complex mixture spectrogram that broadcasts against the mask (``mix[:, None]``
            for masks with a sources axis).

    Example:
        >>> apply_complex_mask(torch.tensor([[0.0, 1.0]]), torch.tensor([2 + 0j])).tolist()
        [2j]
    """
    if not mask.is_complex():
        if mask.shape[-1] != 2:
            raise ValueError(f"apply_complex_mask: a real mask needs a last dimension of 2 (re, im), got {tuple(mask.shape)}")
        # Under mixed precision the mask may be float16: complex math stays in the mix's precision.
        mask = torch.view_as_complex(mask.to(mix.real.dtype).contiguous())
    return mask * mix
