"""The dilated (multiscale) Wave-U-Net: stacks of dilated convolutions at every level.

The Wave-U-Net (:mod:`.wave_u_net`) widens its view of the signal only by going down a level.
Dilated convolutions (WaveNet, van den Oord et al. 2016; Yu & Koltun 2016) widen it *within* a
level: a kernel of size k with dilation d reads samples ``d`` apart and spans ``d (k - 1) + 1``
samples for the same number of weights. Here each level's single convolution becomes a stack
of ``depth`` convolutions whose dilation grows per layer (``1, g, g**2, ...``), so a level sees
``(k - 1) (g**depth - 1) / (g - 1) + 1`` samples instead of ``k``.

**Multiscale option.** With ``branches=(1, 4)`` each level runs two such stacks in parallel,
the second with every dilation multiplied by 4, and merges them by concatenation and a 1x1
convolution: one branch looks closely, the other far (the idea of Inception / ASPP blocks).
``branches=(1,)`` is the plain dilated model.

Every convolution is zero-padded to keep its length ('same'), decimation keeps every other
sample and upsampling is linear interpolation, as in the Wave-U-Net without context, so the
input length must be a multiple of ``2 ** levels`` and the output is as long as the input.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .common import check_context, check_mix, hull, record_init, widest_span
from .wave_u_net import linear_upsample

__all__ = ["DilatedWaveUNet", "DilatedBlock"]


class DilatedBlock(nn.Module):
    """Parallel stacks of 'same'-padded dilated convolutions, merged by a 1x1 convolution.

    Branch ``b`` is ``depth`` layers ``Conv1d(kernel_size, dilation=branches[b] * growth**j)``
    each followed by LeakyReLU(0.2); with more than one branch their outputs are concatenated and
    mixed by ``Conv1d(len(branches) * out_channels, out_channels, 1)`` + LeakyReLU.

    Shape:
        ``(B, in_channels, T) -> (B, out_channels, T)``

    Example:
        >>> block = DilatedBlock(2, 8, kernel_size=3, depth=3, growth=2, branches=(1, 4))
        >>> block(torch.zeros(1, 2, 50)).shape, block.half_width
        (torch.Size([1, 8, 50]), 28)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, depth: int, growth: int, branches: tuple[int, ...]):
        super().__init__()
        self.stacks = nn.ModuleList()
        for base in branches:
            dilations = [base * growth**j for j in range(depth)]
            self.stacks.append(
                nn.ModuleList(
                    nn.Conv1d(in_channels if j == 0 else out_channels, out_channels, kernel_size, dilation=d, padding=d * (kernel_size - 1) // 2)
                    for j, d in enumerate(dilations)
                )
            )
        self.merge = nn.Conv1d(len(branches) * out_channels, out_channels, 1) if len(branches) > 1 else None
        #: Samples read on each side of an output sample: the widest branch decides.
        self.half_width = max(branches) * sum(growth**j for j in range(depth)) * (kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for stack in self.stacks:
            y = x
            for conv in stack:
                y = F.leaky_relu(conv(y), 0.2)  # (B, out_channels, T)
            outs.append(y)
        if self.merge is None:
            return outs[0]
        return F.leaky_relu(self.merge(torch.cat(outs, dim=1)), 0.2)  # (B, out_channels, T)


class DilatedWaveUNet(nn.Module):
    """Wave-U-Net whose levels are (multiscale) stacks of dilated convolutions.

    Args:
        sources: source names, in output order.
        channels: audio channels C (1 = mono, 2 = stereo).
        sample_rate: the rate the model works at, in Hz.
        levels: number of down/up-sampling levels L (each halves the time resolution).
        features: level ``i`` (1-based) has ``features * i`` filters, as in the Wave-U-Net.
        kernel_size: odd kernel size of every dilated convolution.
        depth: dilated convolutions per stack (per branch, per level).
        dilation_growth: factor g by which the dilation grows from one layer to the next (>= 1).
        branches: base dilation of each parallel branch; ``(1,)`` = one branch, ``(1, 4)`` =
            multiscale with a near and a far branch. Positive, distinct.
        output_activation: ``"tanh"`` or ``"identity"``.

    Shape:
        ``mix (B, C, T) -> estimates (B, S, C, T)``, ``T`` a multiple of ``2 ** levels``.

    Example:
        >>> net = DilatedWaveUNet(sources=("a", "b"), channels=2, levels=2, features=4, depth=2)
        >>> net(torch.zeros(1, 2, net.valid_length(30))).shape
        torch.Size([1, 2, 2, 32])
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 22050,
        levels: int = 6,
        features: int = 24,
        kernel_size: int = 3,
        depth: int = 4,
        dilation_growth: int = 2,
        branches: tuple[int, ...] = (1,),
        output_activation: str = "tanh",
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"DilatedWaveUNet: kernel_size must be a positive odd number ('same' padding), got {kernel_size}")
        if levels < 1 or features < 1 or channels < 1 or depth < 1 or len(sources) < 1:
            raise ValueError(
                f"DilatedWaveUNet: levels, features, channels, depth and len(sources) must be >= 1, "
                f"got {levels}, {features}, {channels}, {depth}, {len(sources)}"
            )
        if dilation_growth < 1:
            raise ValueError(f"DilatedWaveUNet: dilation_growth must be >= 1, got {dilation_growth}")
        if not branches or min(branches) < 1 or len(set(branches)) != len(branches):
            raise ValueError(f"DilatedWaveUNet: branches must be distinct positive base dilations, got {branches}")
        if output_activation not in ("tanh", "identity"):
            raise ValueError(f"DilatedWaveUNet: output_activation must be 'tanh' or 'identity', got {output_activation!r}")
        check_context("DilatedWaveUNet", 2**levels, sample_rate, f"levels={levels}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.levels = levels
        self.output_activation = output_activation

        Fc, L, C = features, levels, channels

        def block(c_in: int, c_out: int) -> DilatedBlock:
            return DilatedBlock(c_in, c_out, kernel_size, depth, dilation_growth, tuple(branches))

        self.down = nn.ModuleList(block(C if i == 0 else Fc * i, Fc * (i + 1)) for i in range(L))
        self.bottleneck = block(Fc * L, Fc * (L + 1))
        # Up level i (applied from i = L-1 down to 0): upsampled Fc*(i+2) + skip Fc*(i+1) -> Fc*(i+1).
        self.up = nn.ModuleList(block(Fc * (i + 2) + Fc * (i + 1), Fc * (i + 1)) for i in range(L))
        self.heads = nn.ModuleList(nn.Conv1d(Fc + C, C, 1) for _ in self.sources)  # one per source

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T)`` into ``(B, S, C, T)``."""
        check_mix(mix, self.channels, "DilatedWaveUNet")
        B, C, T = mix.shape
        self.output_length(T)  # raises a clear ValueError unless T is a multiple of 2**levels
        x = mix
        skips = []
        for block in self.down:
            x = block(x)  # (B, Fc*(i+1), T / 2**i)
            skips.append(x)
            x = x[..., ::2]  # decimate: (B, Fc*(i+1), T / 2**(i+1))
        x = self.bottleneck(x)  # (B, Fc*(L+1), T / 2**L)
        for i in reversed(range(self.levels)):
            x = linear_upsample(x, context=False)  # (B, Fc*(i+2), T / 2**i)
            x = self.up[i](torch.cat([x, skips[i]], dim=1))  # (B, Fc*(i+1), T / 2**i)
        x = torch.cat([x, mix], dim=1)  # (B, Fc + C, T)
        out = torch.stack([head(x) for head in self.heads], dim=1)  # (B, S, C, T)
        return torch.tanh(out) if self.output_activation == "tanh" else out

    @property
    def period(self) -> int:
        """``2 ** levels``: the output follows input shifts by multiples of it."""
        return 2**self.levels

    # ---------------------------------------------------------------- length arithmetic
    def output_length(self, n: int) -> int:
        """Output samples for ``n`` input samples: ``n``, which must be a multiple of ``2 ** levels``.

        Example:
            >>> DilatedWaveUNet(levels=3).output_length(64)
            64
        """
        if n <= 0 or n % 2**self.levels:
            raise ValueError(
                f"DilatedWaveUNet needs a length that is a positive multiple of 2**levels = "
                f"{2**self.levels}, got {n}; use valid_length({n}) = {self.valid_length(max(n, 1))}"
            )
        return n

    def valid_length(self, n: int) -> int:
        """Smallest multiple of ``2 ** levels`` that is at least ``n`` (and at least one).

        Example:
            >>> DilatedWaveUNet(levels=3).valid_length(65)
            72
        """
        step = 2**self.levels
        return -(-max(n, 1) // step) * step

    # ---------------------------------------------------------------- receptive field
    def input_span(self, j: int) -> tuple[int, int]:
        """First and last input sample (unclipped) that output sample ``j`` depends on."""
        L = self.levels

        def down(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of skip i (i = L: bottleneck)
            h = self.bottleneck.half_width if i == L else self.down[i].half_width
            lo, hi = lo - h, hi + h
            return (lo, hi) if i == 0 else down(i - 1, 2 * lo, 2 * hi)  # x[::2] reads sample 2o

        def up(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of up level i's output
            h = self.up[i].half_width
            lo, hi = lo - h, hi + h  # in concat(upsampled, skip i)
            below = (lo // 2, -(-hi // 2))  # linear interpolation reads x[o // 2] and x[ceil(o / 2)]
            deeper = down(L, *below) if i == L - 1 else up(i + 1, *below)
            return hull(deeper, down(i, lo, hi))

        return hull(up(0, j, j), (j, j))  # the 1x1 head also reads the mixture at j

    def receptive_field(self) -> int:
        """Input samples that can influence one output sample (most over output positions).

        Example:
            >>> DilatedWaveUNet(levels=1, kernel_size=3, depth=2, dilation_growth=2).receptive_field()
            27
        """
        return widest_span(self.input_span, self.period)
