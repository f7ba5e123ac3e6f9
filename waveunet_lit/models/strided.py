"""The strided-convolution Wave-U-Net: the design most tutorials draw.

Instead of the paper's decimation and linear interpolation (:mod:`.wave_u_net`), every level
*learns* its resampling: a strided ``Conv1d`` halves (or quarters, ...) the time resolution on
the way down, a ``ConvTranspose1d`` with the same kernel, stride and padding restores it on the
way up, and skip connections are concatenated::

    input x_0  (B, C, n_0)
    level i = 0..L-1:  x_{i+1} = LeakyReLU(Conv1d(x_i, kernel k, stride s, padding p))
    bottleneck:        y_L = LeakyReLU(Conv1d(x_L, bottleneck_kernel, 'same'))
    level i = L-1..0:  y_i = LeakyReLU(ConvTranspose1d(concat(y_{i+1}, x_{i+1}), k, s, p))
    output:            concat(y_0, x_0) -> Conv1d(C, kernel 1) -> tanh, one per source

**Length arithmetic.** A strided convolution maps ``n`` samples to
``floor((n + 2p - k) / s) + 1``: ``s`` different input lengths give the same output length, so a
transposed convolution cannot know which one to restore. PyTorch resolves exactly this
ambiguity with the ``output_size`` argument of ``ConvTranspose1d.forward`` (it sets the
``output_padding`` in ``0 .. s - 1``); we pass the length of the matching encoder tensor. Every
decoder output therefore has the length of its skip, and the model's output has the length of
its input: ``output_length(n) == n`` for every ``n >= valid_length(1)``, odd lengths included,
with no cropping or trimming anywhere.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .common import check_context, check_mix, hull, record_init, widest_span

__all__ = ["StridedWaveUNet", "strided_lengths", "strided_min_length"]


def check_strided_args(name: str, kernel_size: int, stride: int, padding: int, levels: int) -> None:
    """Raise ``ValueError`` naming the argument when kernel/stride/padding/levels cannot work."""
    if stride < 2:
        raise ValueError(f"{name}: stride must be >= 2 (each level downsamples), got {stride}")
    if kernel_size < stride:
        raise ValueError(
            f"{name}: kernel_size ({kernel_size}) must be >= stride ({stride}), otherwise the "
            f"strided convolution skips input samples and the transposed one leaves gaps"
        )
    if padding < 0 or 2 * padding > kernel_size - 1:
        raise ValueError(
            f"{name}: padding must be in [0, (kernel_size - 1) // 2] = [0, {(kernel_size - 1) // 2}] so that "
            f"every output sample sees at least one real input sample, got {padding}"
        )
    if levels < 1:
        raise ValueError(f"{name}: levels must be >= 1, got {levels}")


def strided_lengths(n: int, kernel_size: int, stride: int, padding: int, levels: int) -> list[int]:
    """Lengths ``[n_0, ..., n_L]`` of the encoder tensors for an input of ``n`` samples.

    ``n_{i+1} = floor((n_i + 2p - k) / s) + 1``; ``ValueError`` if a level would be empty.

    Example:
        >>> strided_lengths(100, kernel_size=4, stride=2, padding=1, levels=3)
        [100, 50, 25, 12]
    """
    lengths = [n]
    for _ in range(levels):
        m = lengths[-1] + 2 * padding - kernel_size
        if m < 0:
            need = strided_min_length(kernel_size, stride, padding, levels)
            raise ValueError(f"an input of {n} samples is too short for this model; it needs at least {need}")
        lengths.append(m // stride + 1)
    return lengths


def strided_min_length(kernel_size: int, stride: int, padding: int, levels: int) -> int:
    """Fewest input samples for which every encoder level has at least one sample.

    A level gives ``m`` samples iff its input has ``n >= (m - 1) * s + k - 2p`` samples; start
    from ``m = 1`` at the bottom and walk up.

    Example:
        >>> strided_min_length(kernel_size=4, stride=2, padding=1, levels=3)
        8
        >>> strided_lengths(8, 4, 2, 1, 3)[-1]
        1
    """
    m = 1
    for _ in range(levels):
        m = (m - 1) * stride + kernel_size - 2 * padding
    return max(m, 1)


def conv_input_span(lo: int, hi: int, kernel_size: int, stride: int, padding: int) -> tuple[int, int]:
    """Input samples read by outputs ``lo..hi`` of ``Conv1d(k, s, p)`` (unclipped indices)."""
    return lo * stride - padding, hi * stride - padding + kernel_size - 1


def transposed_input_span(lo: int, hi: int, kernel_size: int, stride: int, padding: int) -> tuple[int, int]:
    """Input samples read by outputs ``lo..hi`` of ``ConvTranspose1d(k, s, p)``.

    Output ``o`` receives input ``i`` through tap ``t`` when ``o = i * s - p + t``, ``0 <= t < k``.
    """
    return -((-(lo + padding - kernel_size + 1)) // stride), (hi + padding) // stride


class StridedWaveUNet(nn.Module):
    """Wave-U-Net with strided-convolution downsampling and transposed-convolution upsampling.

    Args:
        sources: source names, in output order.
        channels: audio channels C (1 = mono, 2 = stereo).
        sample_rate: the rate the model works at, in Hz.
        levels: number of down/up-sampling levels L.
        features: level ``i`` (1-based) has ``features * i`` filters, as in the Wave-U-Net.
        kernel_size: kernel k of every strided and transposed convolution (``>= stride``).
        stride: resampling factor s per level (``>= 2``); the model's :attr:`period` is
            ``stride ** levels``.
        padding: zero padding p of the strided convolutions, ``0 <= p <= (k - 1) // 2``;
            ``p = (k - s) / 2`` centres each output on its input samples.
        bottleneck_kernel: odd kernel of the 'same'-padded bottleneck convolution.
        output_activation: ``"tanh"`` or ``"identity"``.

    Shape:
        ``mix (B, C, T) -> estimates (B, S, C, T)``: the output is as long as the input.

    Example:
        >>> net = StridedWaveUNet(sources=("a", "b"), channels=1, levels=3, features=4)
        >>> net(torch.zeros(2, 1, 1001)).shape
        torch.Size([2, 2, 1, 1001])
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 22050,
        levels: int = 6,
        features: int = 24,
        kernel_size: int = 8,
        stride: int = 4,
        padding: int = 2,
        bottleneck_kernel: int = 3,
        output_activation: str = "tanh",
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        check_strided_args("StridedWaveUNet", kernel_size, stride, padding, levels)
        if features < 1 or channels < 1 or len(sources) < 1:
            raise ValueError(
                f"StridedWaveUNet: features, channels and len(sources) must be >= 1, "
                f"got {features}, {channels}, {len(sources)}"
            )
        if bottleneck_kernel < 1 or bottleneck_kernel % 2 == 0:
            raise ValueError(f"StridedWaveUNet: bottleneck_kernel must be a positive odd number, got {bottleneck_kernel}")
        if output_activation not in ("tanh", "identity"):
            raise ValueError(f"StridedWaveUNet: output_activation must be 'tanh' or 'identity', got {output_activation!r}")
        check_context("StridedWaveUNet", strided_min_length(kernel_size, stride, padding, levels), sample_rate,
                      f"levels={levels} with stride={stride}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.levels = levels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.bottleneck_kernel = bottleneck_kernel
        self.output_activation = output_activation

        Fc, L, C = features, levels, channels
        k, s, p = kernel_size, stride, padding
        self.down = nn.ModuleList(nn.Conv1d(C if i == 0 else Fc * i, Fc * (i + 1), k, s, p) for i in range(L))
        self.bottleneck = nn.Conv1d(Fc * L, Fc * (L + 1), bottleneck_kernel, padding=bottleneck_kernel // 2)
        # Decoder level i (applied from i = L-1 down to 0) reads concat(y_{i+1}, x_{i+1}): the
        # bottleneck's Fc*(L+1) channels at the bottom, else the Fc*(i+1) of the level below,
        # plus the skip's Fc*(i+1); it writes Fc*max(i, 1) channels.
        self.up = nn.ModuleList(
            nn.ConvTranspose1d(Fc * (L + 1 if i == L - 1 else i + 1) + Fc * (i + 1), Fc * max(i, 1), k, s, p)
            for i in range(L)
        )
        # One output convolution per source: never shared between sources.
        self.heads = nn.ModuleList(nn.Conv1d(Fc + C, C, 1) for _ in self.sources)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T)`` into ``(B, S, C, T)``."""
        check_mix(mix, self.channels, "StridedWaveUNet")
        B, C, T = mix.shape
        lengths = self._lengths(T)  # [n_0, ..., n_L]; clear ValueError if T is too short
        x = mix
        skips = []
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)  # (B, Fc*(i+1), n_{i+1})
            skips.append(x)
        y = F.leaky_relu(self.bottleneck(x), 0.2)  # (B, Fc*(L+1), n_L)
        for i in reversed(range(self.levels)):
            y = torch.cat([y, skips[i]], dim=1)  # (B, F_y + Fc*(i+1), n_{i+1})
            y = F.leaky_relu(self.up[i](y, output_size=[lengths[i]]), 0.2)  # (B, Fc*max(i,1), n_i)
        y = torch.cat([y, mix], dim=1)  # (B, Fc + C, T)
        out = torch.stack([head(y) for head in self.heads], dim=1)  # (B, S, C, T)
        return torch.tanh(out) if self.output_activation == "tanh" else out

    def _lengths(self, n: int) -> list[int]:
        try:
            return strided_lengths(n, self.kernel_size, self.stride, self.padding, self.levels)
        except ValueError as err:
            raise ValueError(f"StridedWaveUNet: {err}") from None

    @property
    def period(self) -> int:
        """``stride ** levels``: the output follows input shifts by multiples of it.

        Example:
            >>> StridedWaveUNet(levels=3, kernel_size=8, stride=4, padding=2).period
            64
        """
        return self.stride**self.levels

    # ---------------------------------------------------------------- length arithmetic
    def output_length(self, n: int) -> int:
        """Output samples for ``n`` input samples: ``n`` itself, once ``n >= valid_length(1)``.

        Example:
            >>> StridedWaveUNet(levels=3, kernel_size=4, stride=2, padding=1).output_length(12345)
            12345
        """
        self._lengths(n)  # raises when too short
        return n

    def valid_length(self, n: int) -> int:
        """Smallest input length whose output has at least ``n`` samples.

        Example:
            >>> StridedWaveUNet(levels=3, kernel_size=4, stride=2, padding=1).valid_length(1)
            8
        """
        return max(n, strided_min_length(self.kernel_size, self.stride, self.padding, self.levels))

    # ---------------------------------------------------------------- receptive field
    def input_span(self, j: int) -> tuple[int, int]:
        """First and last input sample (unclipped) that output sample ``j`` depends on."""
        k, s, p, L = self.kernel_size, self.stride, self.padding, self.levels

        def encoder(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples lo..hi of x_i
            for _ in range(i):
                lo, hi = conv_input_span(lo, hi, k, s, p)
            return lo, hi

        def decoder(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples lo..hi of y_i
            if i == L:
                b = self.bottleneck_kernel // 2
                return encoder(L, lo - b, hi + b)
            lo, hi = transposed_input_span(lo, hi, k, s, p)  # in concat(y_{i+1}, x_{i+1})
            return hull(decoder(i + 1, lo, hi), encoder(i + 1, lo, hi))

        return hull(decoder(0, j, j), (j, j))

    def receptive_field(self) -> int:
        """Input samples that can influence one output sample, the most over output positions.

        The span repeats with :attr:`period` along the output, so that many positions are
        enough.

        Example:
            >>> StridedWaveUNet(levels=1, kernel_size=4, stride=2, padding=1, bottleneck_kernel=1).receptive_field()
            6
        """
        return widest_span(self.input_span, self.period)
