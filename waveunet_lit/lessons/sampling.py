"""Helpers for ``03_down_and_up_sampling``: aliasing on a chirp, and the checkerboard of
transposed convolutions, seen and heard.

The resamplers are the package's (:class:`~waveunet_lit.models.port.SincResample`,
:func:`~waveunet_lit.models.wave_u_net.linear_upsample`) and PyTorch's
(``F.conv_transpose1d``); this module only makes signals and draws them.
"""

import math

import torch
from torch.nn import functional as F

from ..models.port import SincResample
from ..models.wave_u_net import linear_upsample

__all__ = ["chirp", "decimate", "overlap_counts", "plot_checkerboard", "plot_decimation", "upsampled_tones"]


def chirp(rate: int = 16000, seconds: float = 2.0, f0: float = 100.0, f1: float | None = None) -> torch.Tensor:
    """A linear chirp from ``f0`` to ``f1`` Hz (default: the Nyquist frequency), ``(T,)`` float32,
    ``T = rate * seconds + 1`` (odd lengths resample exactly by 2 and 4 with ``SincResample``).

    Example:
        >>> chirp(16000, 1.0).shape
        torch.Size([16001])
    """
    f1 = rate / 2 if f1 is None else f1
    t = torch.arange(int(rate * seconds) + 1, dtype=torch.float64) / rate
    phase = 2 * math.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))  # instantaneous f0 -> f1
    return (0.5 * torch.sin(phase)).float()


def decimate(x: torch.Tensor, factor: int, taps: int = 0) -> torch.Tensor:
    """Keep every ``factor``-th sample of ``x (T,)``, after the package's windowed-sinc low-pass
    when ``taps > 0`` (:class:`SincResample`, as in the PyTorch port), else without filtering
    (as the paper's Wave-U-Net).

    Example:
        >>> decimate(torch.arange(9.0), 2).tolist()
        [0.0, 2.0, 4.0, 6.0, 8.0]
        >>> decimate(torch.ones(33), 4, taps=15).shape
        torch.Size([9])
    """
    if taps == 0:
        return x[::factor]
    return SincResample(1, stride=factor, taps=taps, transpose=False)(x[None, None])[0, 0]


def _spectrogram(ax, x: torch.Tensor, rate: int, title: str) -> None:
    n_fft = 256 * rate // 16000
    S = torch.stft(x, n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft), return_complex=True).abs()
    db = 20 * torch.log10(S + 1e-4)  # (F, N)
    ax.imshow(db, origin="lower", aspect="auto", vmin=-60, vmax=db.max().item(), cmap="magma",
              extent=(0, x.shape[-1] / rate, 0, rate / 2))
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")


def plot_decimation(factor: int = 2, taps: int = 31, rate: int = 16000) -> None:
    """Spectrograms of a chirp up to 8 kHz, decimated by ``factor`` without and with a
    ``taps``-tap windowed-sinc low-pass; prints how loud the decimated signal stays in the second
    half, where the chirp is above the new Nyquist frequency (an alias, if it is loud).

    Example:
        >>> plot_decimation(2, 31)
        RMS where the chirp is above 4000 Hz: original 0.35, decimated 0.35, low-passed then decimated 0.01
    """
    import matplotlib.pyplot as plt

    x = chirp(rate)
    plain, filtered = decimate(x, factor), decimate(x, factor, taps)
    new = rate // factor
    # The chirp passes the new Nyquist frequency at this fraction of its length (plus a margin).
    frac = (new / 2 - 100.0) / (rate / 2 - 100.0) + 0.05

    def rms_above(y: torch.Tensor) -> float:
        return float(y[int(frac * y.shape[-1]) :].pow(2).mean().sqrt())

    print(f"RMS where the chirp is above {new // 2} Hz: original {rms_above(x):.2f}, "
          f"decimated {rms_above(plain):.2f}, low-passed then decimated {rms_above(filtered):.2f}")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    _spectrogram(axes[0], x, rate, f"chirp at {rate} Hz")
    _spectrogram(axes[1], plain, new, f"x[::{factor}]: aliases fold back")
    _spectrogram(axes[2], filtered, new, f"low-pass ({taps} taps), then x[::{factor}]")
    axes[0].set_ylabel("frequency (Hz)")
    for ax in axes:
        ax.set_ylim(0, rate / 2)  # the same frequency axis for all three
    for ax in axes[1:]:
        ax.axhline(new / 2, color="w", ls="--", lw=1)
    fig.tight_layout()


def overlap_counts(kernel_size: int, stride: int, n: int = 8) -> list[int]:
    """How many kernel taps land on each output sample of a transposed convolution of a
    constant input of ``n`` samples (the border samples dropped): the checkerboard pattern.

    Example:
        >>> overlap_counts(3, 2)
        [2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]
        >>> overlap_counts(4, 2)[:4]
        [2, 2, 2, 2]
    """
    y = F.conv_transpose1d(torch.ones(1, 1, n), torch.ones(1, 1, kernel_size), stride=stride)[0, 0]
    inner = y[kernel_size - 1 : y.shape[-1] - kernel_size + 1]  # away from both ends
    return [int(v) for v in inner]


def plot_checkerboard(kernel_size: int = 3, stride: int = 2) -> None:
    """A transposed convolution with an all-ones kernel applied to a constant signal: the output
    should be constant, but the kernels overlap unevenly unless ``stride`` divides ``kernel_size``.

    Example:
        >>> plot_checkerboard(3, 2)
        kernel 3, stride 2: taps per output sample 2, 1, ... (uneven)
    """
    import matplotlib.pyplot as plt

    n = 12
    counts = overlap_counts(kernel_size, stride, n)
    period = counts[:stride]
    even = len(set(counts)) == 1
    print(f"kernel {kernel_size}, stride {stride}: taps per output sample {', '.join(map(str, period))}, ... "
          f"({'even' if even else 'uneven'})")
    y = F.conv_transpose1d(torch.ones(1, 1, n), torch.ones(1, 1, kernel_size), stride=stride)[0, 0]
    fig, ax = plt.subplots(figsize=(9, 2.6))
    stacked = torch.zeros(y.shape[-1])
    for i in range(n):  # each input sample stamps one copy of the kernel, stride samples apart
        where = torch.arange(i * stride, i * stride + kernel_size)
        ax.bar(where, 1, bottom=stacked[where], color=f"C{i % 2}", alpha=0.5, width=0.9, edgecolor="w",
               label="copies of the kernel" if i == 0 else None)
        stacked[where] += 1
    ax.step(range(y.shape[-1]), y, where="mid", color="k", lw=1.5, label="output (sum of the copies)")
    ax.set_xlabel("output sample")
    ax.set_title(f"ConvTranspose1d(kernel {kernel_size}, stride {stride}) of a constant: "
                 f"{'flat' if even else 'a checkerboard'}")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_ylim(0, max(float(y.max()) * 1.4, 1.5))
    fig.tight_layout()


def upsampled_tones(rate: int = 4000, factor: int = 4, seconds: float = 2.0, tone_hz: float = 220.0) -> dict[str, torch.Tensor]:
    """A tone at ``rate`` Hz upsampled by ``factor`` three ways, each ``(T,)`` at ``rate * factor``:

    * ``"linear interpolation"``: the paper's upsampling, :func:`linear_upsample` applied
      ``log2(factor)`` times;
    * ``"transposed, kernel 2s"``: ``conv_transpose1d`` with a triangular kernel of ``2 factor``
      taps (every output gets the same total weight: no checkerboard);
    * ``"transposed, kernel 1.5s"``: an all-ones kernel of ``1.5 factor`` taps, scaled to the same
      mean gain; the overlap alternates, which multiplies the tone by a pattern of period
      ``factor`` samples: a buzz at ``rate`` Hz and its harmonics.

    Example:
        >>> {k: v.shape[-1] for k, v in upsampled_tones(seconds=0.5).items()}
        {'linear interpolation': 7997, 'transposed, kernel 2s': 7997, 'transposed, kernel 1.5s': 7997}
    """
    t = torch.arange(int(rate * seconds), dtype=torch.float64) / rate
    x = (0.4 * torch.sin(2 * math.pi * tone_hz * t)).float()[None, None]  # (1, 1, T)
    lin = x
    for _ in range(int(math.log2(factor))):
        lin = linear_upsample(lin, context=True)  # (1, 1, 2T - 1) each time
    n = lin.shape[-1]
    tri = 1 - (torch.arange(2 * factor) - (2 * factor - 1) / 2).abs() / factor  # triangle, sums to factor
    flat = torch.full((3 * factor // 2,), factor / (3 * factor // 2))  # ones, same sum
    out = {"linear interpolation": lin[0, 0]}
    for name, k in (("transposed, kernel 2s", tri), ("transposed, kernel 1.5s", flat)):
        y = F.conv_transpose1d(x, k[None, None], stride=factor)[0, 0]
        start = (y.shape[-1] - n) // 2
        out[name] = y[start : start + n]
    return out
