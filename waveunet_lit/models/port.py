"""The "improved" Wave-U-Net of the PyTorch port (f90/Wave-U-Net-Pytorch), rebuilt exactly.

This is the Wave-U-Net most people run today. Against the paper (:mod:`.wave_u_net`) it changes:

* ``levels`` counts the bottleneck: ``levels - 1`` resampling stages of factor ``strides`` (4).
* Filters grow per level by ``features * i`` (``feature_growth="add"``) or ``features * 2**i``
  (``"double"``).
* Each block holds ``depth`` 'valid' convolutions before and ``depth`` after its skip point::

      down block:  pre convs -> (keep as shortcut) -> post convs -> downsample
      bottleneck:  depth convs
      up block:    upsample -> pre convs -> concat(cropped shortcut, .) ONCE -> post convs
      output:      Conv1d(kernel 1) to C channels per source

* ``norm="batch"`` or ``"group"`` (groups of 8 channels) is followed by ReLU; ``"none"`` by
  LeakyReLU(0.01).
* Resampling is a fixed lowpass filter (``resampling="fixed"``: a windowed sinc, applied per
  channel, reflect padding) or a learned strided convolution (``"learned"``: ``Conv1d`` with
  stride down, ``ConvTranspose1d`` up, both 'valid').
* ``separate=True`` trains one whole network per source; ``False`` one shared network whose
  output convolution writes ``S * C`` channels.

Two bugs of the port are *not* reproduced (a test guards each):

* its issue 14: with ``depth > 1`` the up block concatenated the skip again before every post
  convolution; here it is concatenated once, before the first;
* its issue 21: its Blackman window's second cosine term was ``cos(4 pi M)``, a constant, which
  silently turned the window into a Hann window; here every term varies with the tap index.

Unlike the port we do not clamp the output to [-1, 1] at evaluation: training and evaluation
compute the same function.

Layout: inside the network a signal ``(B, C, n)`` is held as ``(B, C, 1, n)``: on the CPU in
bfloat16 (``bf16-mixed``) in channels-last memory, where oneDNN's bfloat16 convolutions run
without converting every tensor (:mod:`.channels_last`); in float32, and on a GPU, in the usual
layout, where oneDNN's float32 convolutions are faster (:func:`.channels_last.layout_for`). The
weights, the state dict and the function are those of ``nn.Conv1d``.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .common import check_context, check_mix, hull, record_init, widest_span
from .channels_last import BatchNorm1d, Conv1d, ConvTranspose1d, autocast_bf16, conv1d, conv_transpose1d, crop, layout_for
from .polyphase import FilterDown, FilterUp

__all__ = ["PortWaveUNet", "SincResample", "blackman_window", "sinc_lowpass"]


def blackman_window(taps: int) -> torch.Tensor:
    """Blackman window with ``taps`` non-zero values, ``float64``.

    ``w[i] = 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)`` with ``n = i + 1`` and
    ``N = taps + 1``: the symmetric Blackman window of ``taps + 2`` points without its two zero
    end points, so every tap counts. Both cosine terms vary with the tap index (the port's
    issue 21 had ``cos(4 pi N)``, a constant).

    Example:
        >>> w = blackman_window(7)
        >>> round(float(w[3]), 6), bool(torch.allclose(w, w.flip(0)))
        (1.0, True)
    """
    n = torch.arange(1, taps + 1, dtype=torch.float64)
    N = taps + 1
    return 0.42 - 0.5 * torch.cos(2 * math.pi * n / N) + 0.08 * torch.cos(4 * math.pi * n / N)


def sinc_lowpass(taps: int, cutoff: float) -> torch.Tensor:
    """Blackman-windowed sinc lowpass with unit DC gain, ``float64``.

    Args:
        taps: odd filter length.
        cutoff: cutoff frequency in cycles per sample (``0.5 / stride`` to resample by ``stride``).

    Example:
        >>> h = sinc_lowpass(15, 0.125)
        >>> round(float(h.sum()), 6), h.shape
        (1.0, torch.Size([15]))
    """
    t = torch.arange(taps, dtype=torch.float64) - (taps - 1) // 2
    h = 2 * cutoff * torch.sinc(2 * cutoff * t)  # ideal lowpass, exact zeros where 2*cutoff*t is a non-zero integer
    h = h * blackman_window(taps)
    return h / h.sum()


class SincResample(nn.Module):
    """Fixed lowpass resampling by an integer factor, per channel (the port's ``Resample1d``).

    Down: reflect-pad ``(taps - 1) / 2`` samples each side, filter, keep every ``stride``-th
    sample: ``n -> (n - 1) / stride + 1`` (``n - 1`` must be divisible by ``stride``).
    Up: reflect-pad, transposed filter (zero stuffing + lowpass), crop the centre:
    ``n -> (n - 1) * stride + 1``; the filter is scaled by ``stride`` to keep the signal level.
    Reflect padding needs ``n > (taps - 1) / 2``.

    Shape:
        ``(B, D, n) -> (B, D, n_out)``, or ``(B, D, 1, n) -> (B, D, 1, n_out)`` (the layout kept)

    Example:
        >>> down = SincResample(2, stride=4, taps=15, transpose=False)
        >>> down(torch.ones(1, 2, 33)).shape, round(float(down(torch.ones(1, 2, 33))[0, 0, 4]), 5)
        (torch.Size([1, 2, 9]), 1.0)
    """

    def __init__(self, channels: int, stride: int, taps: int, transpose: bool):
        super().__init__()
        self.channels, self.stride, self.taps, self.transpose = channels, stride, taps, transpose
        h = sinc_lowpass(taps, 0.5 / stride) * (stride if transpose else 1)
        # A buffer, not a parameter: the filter is fixed and follows .to()/.double().
        self.register_buffer("filter", h.float().expand(channels, 1, taps).contiguous(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        D, n = x.shape[1], x.shape[-1]
        pad = (self.taps - 1) // 2
        # bf16-mixed: the same filter by the convolutions oneDNN runs fast in bfloat16 (its
        # transposed depthwise one is slow: see .polyphase); otherwise torch's own
        bf16 = autocast_bf16(x.device.type)
        time_pad = (pad, pad) if x.dim() == 3 else (pad, pad, 0, 0)  # reflect padding of a 4-D tensor names both axes
        x = F.pad(x.to(torch.bfloat16) if bf16 else x, time_pad, mode="reflect")  # (B, D, [1,] n + 2 pad)
        if not self.transpose:
            if bf16:
                return FilterDown.apply(x, self.filter[0, 0], self.stride)  # (B, D, [1,] (n - 1) / s + 1)
            return conv1d(x, self.filter, stride=self.stride, groups=D)  # (B, D, [1,] (n - 1) / s + 1)
        if bf16:
            y = FilterUp.apply(x, self.filter[0, 0], self.stride)  # (B, D, [1,] (n + 2pad - 1) s + taps)
        else:
            y = conv_transpose1d(x, self.filter, stride=self.stride, groups=D)
        return crop(y, (n - 1) * self.stride + 1)  # (B, D, [1,] (n - 1) s + 1)

    def support(self) -> tuple[int, int]:
        """First and last tap that is not exactly zero."""
        nz = torch.nonzero(self.filter[0, 0]).flatten()
        return int(nz[0]), int(nz[-1])


class ConvLayer(nn.Module):
    """'Valid' convolution (or transposed convolution) + normalisation + activation.

    Shape:
        ``(B, c_in, n) -> (B, c_out, n')``, or the same with a height of 1 (the layout kept)
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, norm: str, transpose: bool = False):
        super().__init__()
        if transpose:  # padding k - 1: only outputs that all k taps contribute to ('valid')
            self.conv = ConvTranspose1d(c_in, c_out, kernel_size, stride, padding=kernel_size - 1)
        else:
            self.conv = Conv1d(c_in, c_out, kernel_size, stride)
        self.norm = {"none": nn.Identity(), "batch": BatchNorm1d(c_out, momentum=0.01), "group": None}[norm]
        if norm == "group":
            self.norm = nn.GroupNorm(c_out // 8, c_out)
        self.relu = norm != "none"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x))  # (B, c_out, n')
        # In place: neither the norm's nor the convolution's backward needs this tensor, so
        # overwriting it saves one (B, c_out, n') buffer and a pass over memory per layer.
        return F.relu(x, inplace=True) if self.relu else F.leaky_relu(x, 0.01, inplace=True)


class PortUNet(nn.Module):
    """One U-Net of :class:`PortWaveUNet` (see there for the arguments)."""

    def __init__(self, c_in: int, c_out: int, widths: list[int], kernel_size: int, strides: int, depth: int, norm: str, resampling: str, filter_taps: int):
        super().__init__()
        k = kernel_size

        def stack(c1: int, c2: int) -> nn.ModuleList:  # depth convs, the first one c1 -> c2
            return nn.ModuleList(ConvLayer(c1 if j == 0 else c2, c2, k, 1, norm) for j in range(depth))

        def resample(c: int, up: bool) -> nn.Module:
            if resampling == "fixed":
                return SincResample(c, strides, filter_taps, transpose=up)
            return ConvLayer(c, c, k, strides, norm, transpose=up)

        n = len(widths) - 1  # resampling stages
        self.down_pre = nn.ModuleList(stack(c_in if i == 0 else widths[i], widths[i]) for i in range(n))
        self.down_post = nn.ModuleList(stack(widths[i], widths[i + 1]) for i in range(n))
        self.downsample = nn.ModuleList(resample(widths[i + 1], up=False) for i in range(n))
        self.bottleneck = stack(widths[-1], widths[-1])
        # Up stage i (applied from i = n-1 down to 0) works at the resolution of shortcut i.
        self.upsample = nn.ModuleList(resample(widths[i + 1], up=True) for i in range(n))
        self.up_pre = nn.ModuleList(stack(widths[i + 1], widths[i]) for i in range(n))
        # The skip is concatenated once, so only the first post conv sees its channels (issue 14).
        self.up_post = nn.ModuleList(stack(2 * widths[i], widths[i]) for i in range(n))
        self.output = Conv1d(widths[0], c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, c_in, [1,] n) -> (B, c_out, [1,] T_out)``; the shapes below leave out the 1."""
        shortcuts = []
        for pre, post, down in zip(self.down_pre, self.down_post, self.downsample):
            for conv in pre:
                x = conv(x)  # (B, W_i, n)
            shortcuts.append(x)
            for conv in post:
                x = conv(x)  # (B, W_{i+1}, n')
            x = down(x)  # (B, W_{i+1}, (n' - 1) / s + 1)
        for conv in self.bottleneck:
            x = conv(x)  # (B, W_last, m)
        for i in reversed(range(len(shortcuts))):
            x = self.upsample[i](x)  # (B, W_{i+1}, m')
            for conv in self.up_pre[i]:
                x = conv(x)  # (B, W_i, m'')
            x = torch.cat([crop(shortcuts[i], x.shape[-1]), x], dim=1)  # (B, 2 W_i, m''), once
            for conv in self.up_post[i]:
                x = conv(x)  # (B, W_i, m''')
        return self.output(x)  # (B, c_out, T_out)


class PortWaveUNet(nn.Module):
    """The PyTorch port's "improved" Wave-U-Net (f90/Wave-U-Net-Pytorch), bugs fixed.

    Args:
        sources: source names, in output order.
        channels: audio channels C.
        sample_rate: the rate the model works at, in Hz.
        features: filters of the first level (32 in the port).
        levels: levels including the bottleneck (>= 2); ``levels - 1`` resampling stages.
        feature_growth: ``"add"`` (``features * i``) or ``"double"`` (``features * 2**i``).
        kernel_size: odd kernel size of every convolution (5).
        strides: resampling factor per stage (4).
        depth: convolutions before and after the skip point of every block (1).
        norm: ``"none"``, ``"batch"`` or ``"group"`` (groups of 8 channels: ``features`` must
            be a multiple of 8).
        resampling: ``"fixed"`` (windowed-sinc lowpass) or ``"learned"`` (strided convolutions).
        filter_taps: odd length of the fixed lowpass filter (15).
        separate: one network per source (True, the port's default) or one shared network.

    Shape:
        ``mix (B, C, T_in) -> estimates (B, S, C, T_out)``; see :meth:`output_length`.

    Example:
        >>> net = PortWaveUNet(sources=("a", "b"), channels=2, features=8, levels=3, strides=2)
        >>> n = net.valid_length(100)
        >>> net(torch.zeros(1, 2, n)).shape[-1] == net.output_length(n) >= 100
        True
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 22050,
        features: int = 32,
        levels: int = 6,
        feature_growth: str = "double",
        kernel_size: int = 5,
        strides: int = 4,
        depth: int = 1,
        norm: str = "group",
        resampling: str = "fixed",
        filter_taps: int = 15,
        separate: bool = True,
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if levels < 2:
            raise ValueError(f"PortWaveUNet: levels counts the bottleneck and must be >= 2, got {levels}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"PortWaveUNet: kernel_size must be a positive odd number, got {kernel_size}")
        if filter_taps < 3 or filter_taps % 2 == 0:
            raise ValueError(f"PortWaveUNet: filter_taps must be an odd number >= 3, got {filter_taps}")
        if strides < 2:
            raise ValueError(f"PortWaveUNet: strides must be >= 2, got {strides}")
        if resampling == "learned" and kernel_size < strides:
            raise ValueError(
                f"PortWaveUNet: with resampling='learned', kernel_size ({kernel_size}) must be >= strides "
                f"({strides}), otherwise the strided convolution skips samples"
            )
        if resampling not in ("fixed", "learned"):
            raise ValueError(f"PortWaveUNet: resampling must be 'fixed' or 'learned', got {resampling!r}")
        if feature_growth not in ("add", "double"):
            raise ValueError(f"PortWaveUNet: feature_growth must be 'add' or 'double', got {feature_growth!r}")
        if norm not in ("none", "batch", "group"):
            raise ValueError(f"PortWaveUNet: norm must be 'none', 'batch' or 'group', got {norm!r}")
        if features < 1 or channels < 1 or depth < 1 or len(sources) < 1:
            raise ValueError(
                f"PortWaveUNet: features, channels, depth and len(sources) must be >= 1, "
                f"got {features}, {channels}, {depth}, {len(sources)}"
            )
        if norm == "group" and features % 8:
            raise ValueError(f"PortWaveUNet: norm='group' uses groups of 8 channels, so features must be a multiple of 8, got {features}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.levels, self.kernel_size, self.strides, self.depth = levels, kernel_size, strides, depth
        self.resampling, self.filter_taps, self.separate = resampling, filter_taps, separate
        if feature_growth == "add":
            self.widths = [features * (i + 1) for i in range(levels)]
        else:
            self.widths = [features * 2**i for i in range(levels)]
        # Length arithmetic needs no layers: refuse absurd sizes before allocating them.
        self._first_valid = self._smallest_bottleneck()
        check_context("PortWaveUNet", self.valid_length(1), sample_rate, f"levels={levels} with strides={strides}")
        args = (self.widths, kernel_size, strides, depth, norm, resampling, filter_taps)
        S, C = len(self.sources), channels
        if separate:
            self.nets = nn.ModuleList(PortUNet(C, C, *args) for _ in range(S))
        else:
            self.nets = nn.ModuleList([PortUNet(C, S * C, *args)])

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T_in)`` into ``(B, S, C, T_out)``."""
        check_mix(mix, self.channels, "PortWaveUNet")
        B, C, T = mix.shape
        T_out = self.output_length(T)  # raises a clear ValueError for lengths it cannot take
        x = mix.unsqueeze(2).contiguous(memory_format=layout_for(mix))  # (B, C, 1, T): see the module docstring
        out = torch.cat([net(x) for net in self.nets], dim=1)  # (B, S*C, 1, T_out)
        return out.reshape(B, len(self.sources), C, T_out).contiguous()  # (B, S, C, T_out)

    @property
    def period(self) -> int:
        """``strides ** (levels - 1)``: the output follows input shifts by multiples of it (with
        ``norm="group"`` only up to the per-input statistics of the group norm).

        Example:
            >>> PortWaveUNet(levels=6, strides=4).period
            1024
        """
        return self.strides ** (self.levels - 1)

    # ---------------------------------------------------------------- length arithmetic
    def _trace(self, n: int) -> list[tuple[str, int]]:
        """Every length of the forward pass for ``n`` input samples, or ``ValueError``."""
        k, s, D = self.kernel_size, self.strides, self.depth * (self.kernel_size - 1)
        pad = (self.filter_taps - 1) // 2
        trace, m = [], n

        def step(name: str, value: int) -> None:
            if value < 1:
                raise ValueError(f"too short at {name}")
            trace.append((name, value))

        for i in range(self.levels - 1):
            m -= D
            step(f"shortcut {i}", m)
            m -= D
            step(f"down {i} input", m)
            if self.resampling == "fixed":
                if m <= pad or (m - 1) % s:
                    raise ValueError(f"down {i}: {m} samples, need (n - 1) % {s} == 0 and n > {pad}")
                m = (m - 1) // s + 1
            else:
                if m < k or (m - k) % s:
                    raise ValueError(f"down {i}: {m} samples, need (n - {k}) % {s} == 0")
                m = (m - k) // s + 1
        m -= D
        step("bottleneck", m)
        for i in reversed(range(self.levels - 1)):
            if self.resampling == "fixed":
                if m <= pad:
                    raise ValueError(f"up {i}: {m} samples, need more than {pad}")
                m = (m - 1) * s + 1
            else:
                m = (m - 1) * s - k + 2
            step(f"upsampled {i}", m)
            m -= D
            step(f"concat {i}", m)
            m -= D
            step(f"up {i} output", m)
        return trace

    def output_length(self, n: int) -> int:
        """Output samples for ``n`` input samples (``ValueError`` for lengths it cannot take).

        Every downsampling must divide its length exactly (as in the port, which asserts it),
        so only some input lengths are accepted; :meth:`valid_length` gives them.

        Example:
            >>> net = PortWaveUNet(levels=3, features=8, strides=2)
            >>> net.output_length(net.valid_length(1000))
            1001
        """
        try:
            return self._trace(n)[-1][1]
        except ValueError as err:
            raise ValueError(
                f"PortWaveUNet cannot take {n} input samples ({err}); "
                f"use valid_length({max(n, 1)}) = {self.valid_length(max(n, 1))}"
            ) from None

    def _input_for_bottleneck(self, b: int) -> int:
        """The input length whose bottleneck input (after the last downsampling) has ``b`` samples."""
        k, s, D = self.kernel_size, self.strides, self.depth * (self.kernel_size - 1)
        m = b
        for _ in range(self.levels - 1):
            m = (m - 1) * s + (1 if self.resampling == "fixed" else k) + 2 * D
        return m

    def _output_for_bottleneck(self, b: int) -> int | None:
        try:
            return self._trace(self._input_for_bottleneck(b))[-1][1]
        except ValueError:
            return None

    def _smallest_bottleneck(self) -> int:
        b = 1
        while self._output_for_bottleneck(b) is None:  # every length grows with b: stops soon
            b += 1
        return b

    def valid_length(self, n: int) -> int:
        """Smallest input length the model accepts whose output has at least ``n`` samples.

        Accepted inputs are exactly those for which every downsampling divides evenly; they and
        their outputs grow linearly with the length ``b`` at the bottleneck, so we solve for ``b``.

        Example:
            >>> net = PortWaveUNet(levels=3, features=8, strides=2)
            >>> net.valid_length(1000), net.valid_length(1001), net.valid_length(1002)
            (1065, 1065, 1069)
        """
        b0 = self._first_valid
        out0 = self._output_for_bottleneck(b0)
        slope = self._output_for_bottleneck(b0 + 1) - out0
        b = b0 + max(0, -(-(n - out0) // slope))
        return self._input_for_bottleneck(b)

    # ---------------------------------------------------------------- receptive field
    def input_span(self, j: int) -> tuple[int, int]:
        """First and last input sample (unclipped) that output sample ``j`` depends on."""
        net = self.nets[0]
        k, s, D, n = self.kernel_size, self.strides, self.depth * (self.kernel_size - 1), self.levels - 1
        P = (self.filter_taps - 1) // 2
        t0, t1 = net.downsample[0].support() if self.resampling == "fixed" else (0, k - 1)
        lengths = dict(self._trace(self.valid_length(1)))
        # Crop offsets of the shortcuts are the same for every accepted length (all differences are even).
        offset = [(lengths[f"shortcut {i}"] - lengths[f"concat {i}"]) // 2 for i in range(n)]

        def down_input(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples at the input of down block i (i = n: bottleneck)
            if i == 0:
                return lo, hi
            if self.resampling == "fixed":
                lo, hi = lo * s - P + t0, hi * s - P + t1
            else:
                lo, hi = lo * s, hi * s + k - 1
            return shortcut(i - 1, lo, hi + D)  # through the post convs of block i - 1

        def shortcut(i: int, lo: int, hi: int) -> tuple[int, int]:
            return down_input(i, lo, hi + D)  # through the pre convs

        def up_output(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of up block i's output
            lo, hi = lo, hi + D  # post convs: samples of the concatenation
            a = shortcut(i, lo + offset[i], hi + offset[i])
            lo, hi = lo, hi + D  # pre convs: samples of the upsampled tensor
            if self.resampling == "fixed":
                lo, hi = -(-(lo + P - t1) // s), (hi + P - t0) // s
            else:
                lo, hi = -(-lo // s), (hi + k - 1) // s
            b = down_input(n, lo, hi + D) if i == n - 1 else up_output(i + 1, lo, hi)
            return hull(a, b)

        return up_output(0, j, j)

    def receptive_field(self) -> int:
        """Input samples that can influence one output sample (most over output positions).

        Group norm also makes every output depend on the whole input through its statistics;
        this number counts the convolutions only.

        Example:
            >>> PortWaveUNet(levels=2, features=8, strides=2, kernel_size=3, filter_taps=5).receptive_field()
            21
        """
        return widest_span(self.input_span, self.period)
