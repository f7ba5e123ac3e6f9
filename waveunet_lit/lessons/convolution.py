"""Helpers for ``02_convolution_by_hand``: a convolution's matrix, its taps drawn, filters heard.

Nothing here computes a convolution of its own: :func:`matrix_of` asks ``torch`` for the
response to each unit impulse, and the figures draw what ``torch.nn.functional.conv1d`` reads.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["clicks_and_tone", "matrix_of", "parameters_per_level", "plot_filters", "plot_parameters", "plot_taps"]


def matrix_of(fn, n: int) -> torch.Tensor:
    """The matrix ``W`` of a linear map of 1-D signals: ``fn(x) == W @ x`` for every ``x``.

    Column ``j`` is the response to the unit impulse at sample ``j``, so nothing about ``fn``
    needs to be known except that it is linear (a convolution without bias is).

    Args:
        fn: maps a ``(n,)`` tensor to a ``(m,)`` tensor, linearly.
        n: input length.

    Returns:
        ``(m, n)`` float64.

    Example:
        >>> h = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
        >>> W = matrix_of(lambda x: F.conv1d(x[None, None], h[None, None])[0, 0], 5)
        >>> W.tolist()
        [[1.0, 0.0, -1.0, 0.0, 0.0], [0.0, 1.0, 0.0, -1.0, 0.0], [0.0, 0.0, 1.0, 0.0, -1.0]]
    """
    eye = torch.eye(n, dtype=torch.float64)
    return torch.stack([fn(eye[j]) for j in range(n)], dim=1)  # (m, n)


def plot_taps(n: int = 10, kernel_size: int = 3, stride: int = 1, padding: int = 0, dilation: int = 1) -> None:
    """Draw which input samples each output sample of ``Conv1d(kernel_size, stride, padding,
    dilation)`` reads, and print the output length by formula and by ``F.conv1d``.

    Input samples are the bottom row (padding zeros in grey), outputs the top row; a line joins
    an output to each of its taps.

    Example:
        >>> plot_taps(10, kernel_size=3, stride=2, padding=1, dilation=2)
        n=10, k=3, s=2, p=1, d=2: floor((10 + 2*1 - 2*(3-1) - 1) / 2) + 1 = 4 outputs; F.conv1d gives 4
    """
    import matplotlib.pyplot as plt

    span = dilation * (kernel_size - 1) + 1
    formula = (n + 2 * padding - span) // stride + 1
    x = torch.zeros(1, 1, n)
    got = F.conv1d(x, torch.zeros(1, 1, kernel_size), stride=stride, padding=padding, dilation=dilation).shape[-1] if n + 2 * padding >= span else 0
    print(f"n={n}, k={kernel_size}, s={stride}, p={padding}, d={dilation}: "
          f"floor(({n} + 2*{padding} - {dilation}*({kernel_size}-1) - 1) / {stride}) + 1 = {max(formula, 0)} outputs; "
          f"F.conv1d gives {got}")
    fig, ax = plt.subplots(figsize=(9, 2.6))
    positions = np.arange(-padding, n + padding)
    real = (positions >= 0) & (positions < n)
    ax.scatter(positions[real], np.zeros(real.sum()), s=60, color="C0", zorder=3, label="input")
    ax.scatter(positions[~real], np.zeros((~real).sum()), s=60, color="0.75", zorder=3, label="zero padding")
    for t in range(max(formula, 0)):
        centre = t * stride - padding + (span - 1) / 2  # draw each output above the middle of its taps
        ax.scatter([centre], [1], s=60, color="C1", zorder=3, label="output" if t == 0 else None)
        for tap in range(kernel_size):
            ax.plot([centre, t * stride - padding + tap * dilation], [1, 0], color=f"C{2 + t % 6}", lw=1)
    ax.set_yticks([0, 1], ["x", "y"])
    ax.set_xlabel("input sample index")
    ax.set_title(f"kernel {kernel_size}, stride {stride}, padding {padding}, dilation {dilation}: {max(formula, 0)} outputs")
    ax.set_ylim(-0.3, 1.6)
    ax.legend(loc="upper center", fontsize=7, ncol=3, frameon=False)
    fig.tight_layout()


def parameters_per_level(net: nn.Module) -> list[tuple[str, int, int, int, int]]:
    """``(name, kernel, in_channels, out_channels, parameters)`` of every ``Conv1d`` in ``net``.

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> parameters_per_level(WaveUNet(levels=1, features=2, channels=1))[0]
        ('down.0', 15, 1, 2, 32)
    """
    rows = []
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv1d):
            w = module.weight  # (out, in, kernel)
            rows.append((name, w.shape[2], w.shape[1], w.shape[0], sum(p.numel() for p in module.parameters())))
    return rows


def plot_parameters(net: nn.Module) -> None:
    """Bar chart of the parameters of each convolution of ``net``; prints the share of the
    deepest third.

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> plot_parameters(WaveUNet.from_preset("M4"))
        the 9 convolutions nearest the bottleneck (of 25) hold 73% of the 10,263,390 parameters
    """
    import matplotlib.pyplot as plt

    rows = [r for r in parameters_per_level(net) if not r[0].startswith("heads")]
    total = sum(p.numel() for p in net.parameters())
    L = getattr(net, "levels", len(rows) // 2)
    # Rank the convolutions by depth: down i and up i are at depth i, the bottleneck deepest.
    depth = {r[0]: (L if r[0] == "bottleneck" else int(r[0].split(".")[1]) if r[0].startswith("down") else L - 1 - int(r[0].split(".")[1])) for r in rows}
    deep = [r for r in rows if depth[r[0]] >= L - L // 3]
    print(f"the {len(deep)} convolutions nearest the bottleneck (of {len(rows)}) hold "
          f"{round(100 * sum(r[4] for r in deep) / total)}% of the {total:,} parameters")
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar(range(len(rows)), [r[4] for r in rows], color=["C0" if r[0].startswith("down") else "C3" if r[0] == "bottleneck" else "C1" for r in rows])
    ax.set_xticks(range(len(rows)), [r[0] for r in rows], rotation=70, fontsize=7)
    ax.set_ylabel("parameters")
    ax.set_title("parameters per convolution: kernel x in x out + out (down blue, up orange)")
    fig.tight_layout()


def clicks_and_tone(rate: int = 8000, seconds: float = 2.0, tone_hz: float = 220.0, clicks_per_second: float = 4.0) -> torch.Tensor:
    """A 220 Hz tone plus a train of one-sample clicks: ``(T,)`` float32 in [-1, 1].

    A low-pass filter keeps the tone and smears the clicks; a high-pass one keeps the clicks
    and removes most of the tone.

    Example:
        >>> x = clicks_and_tone(8000, 1.0)
        >>> x.shape, float(x.abs().max()) <= 1.0
        (torch.Size([8000]), True)
    """
    t = torch.arange(int(rate * seconds), dtype=torch.float64) / rate
    x = 0.3 * torch.sin(2 * math.pi * tone_hz * t)  # (T,)
    every = int(rate / clicks_per_second)
    x[every // 2 :: every] += 0.6  # one-sample clicks
    return x.float()


def plot_filters(x: torch.Tensor, rate: int, kernels: dict[str, torch.Tensor]) -> None:
    """Waveforms (first 60 ms around a click) and magnitude responses of FIR ``kernels`` applied
    to ``x`` with ``F.conv1d`` ('same' length); prints each filter's gain at 220 Hz and 3 kHz.

    Example:
        >>> plot_filters(clicks_and_tone(), 8000, {"difference": torch.tensor([1.0, -1.0])})
        difference   gain at 220 Hz: 0.17   at 3000 Hz: 1.85
    """
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3))
    T = x.shape[-1]
    first_click = int(torch.argmax(x))
    view = slice(max(first_click - int(0.03 * rate), 0), first_click + int(0.03 * rate))
    t_ms = 1000 * torch.arange(T)[view] / rate
    a.plot(t_ms, x[view], color="0.6", lw=1, label="input")
    freqs = torch.fft.rfftfreq(4096, 1 / rate)
    for i, (name, h) in enumerate(kernels.items()):
        k = h.shape[-1]
        padded = F.pad(x[None, None], ((k - 1) // 2, k - 1 - (k - 1) // 2))  # 'same' length, also for even k
        y = F.conv1d(padded, h.float().flip(-1)[None, None])[0, 0]  # flipped: a true convolution
        a.plot(t_ms, y[view], lw=1, color=f"C{i}", label=name)
        gain = torch.fft.rfft(h.double(), 4096).abs()
        b.plot(freqs, gain, color=f"C{i}", label=name)
        at = lambda f: float(gain[int(round(f * 4096 / rate))])  # noqa: E731
        print(f"{name:<12} gain at 220 Hz: {at(220):.2f}   at 3000 Hz: {at(3000):.2f}")
    a.set_xlabel("time (ms)")
    a.set_title("around a click")
    a.legend(fontsize=7)
    b.set_xlabel("frequency (Hz)")
    b.set_ylabel("gain")
    b.set_title("magnitude response |H(f)|")
    b.legend(fontsize=7)
    fig.tight_layout()
