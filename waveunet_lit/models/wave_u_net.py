"""The Wave-U-Net of Stoller, Ewert & Dixon (ISMIR 2018), layer for layer.

Paper: "Wave-U-Net: A Multi-Scale Neural Network for End-to-End Audio Source Separation",
https://arxiv.org/abs/1806.03185. Section numbers below refer to it.

Architecture (Table 1 of the paper), with ``L`` levels and ``Fc`` extra filters per level::

    input  (B, C, T)
    DS block i = 1..L:   Conv1D(Fc * i, kernel f_d) -> LeakyReLU -> keep for skip -> Decimate
    bottleneck:          Conv1D(Fc * (L + 1), kernel f_d) -> LeakyReLU
    US block i = L..1:   Upsample -> Concat(skip i) -> Conv1D(Fc * i, kernel f_u) -> LeakyReLU
    output:              Concat(input) -> Conv1D(C, kernel 1) -> tanh, one per source

* **Decimation** keeps every other sample (``x[..., ::2]``), no filtering (Section 3.1).
* **Upsampling** is linear interpolation (Section 3.1) or, for M5, the *learned* interpolation
  of Section 3.2.2: each new sample is ``w * x[t] + (1 - w) * x[t + 1]`` with one weight
  ``w = sigmoid(v)`` per feature channel.
* **Context** (Section 3.2.3): with ``context=True`` every convolution is 'valid' (no padding),
  so the output is shorter than the input and every output sample sees real audio on both
  sides; skips are centre-cropped before concatenation. Without context, convolutions use
  zero 'same' padding and the input length must be a multiple of ``2 ** L``.
* **Difference output** (Section 3.2.1): the first ``S - 1`` sources come from their own output
  convolution; the last is the (cropped) mixture minus their sum, so the estimates always add
  up to the mixture. The paper's reference code also clips that last source to [-1, 1] at test
  time; we do not, so that the stems always sum to the input.

Without autograd (``torch.no_grad``, ``torch.inference_mode``: separation, evaluation) the
same layers run as :meth:`WaveUNet.inference_forward`, an engineering rewrite of ``forward``
for speed and memory (time-major activations, work in place, no ``torch.cat``) that gives the
same numbers; ``forward`` below is the paper's model as written, and what training runs.

LeakyReLU has slope 0.2, as in the authors' code. Presets for the paper's models are in
:data:`PRESETS`; M4 has exactly 10,263,390 parameters.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .common import center_crop, check_context, check_mix, record_init, widest_span
from .time_major import Conv1d, empty_time_major, to_time_major

__all__ = ["WaveUNet", "LearnedInterpolation", "PRESETS", "waveunet_receptive_field"]


class LearnedInterpolation(nn.Module):
    """Upsampling by 2 with one learned interpolation weight per channel (paper, Section 3.2.2).

    Args:
        features: number of channels F.
        context: if True, ``N`` samples become ``2N - 1`` (only in-between samples are added);
            else ``2N``, the last new sample interpolating towards a zero pad (as TF 'same').

    Shape:
        ``(B, F, N) -> (B, F, 2N - 1)`` with context, ``(B, F, 2N)`` without.

    Example:
        >>> up = LearnedInterpolation(3, context=True)
        >>> up(torch.zeros(2, 3, 5)).shape
        torch.Size([2, 3, 9])
    """

    def __init__(self, features: int, context: bool = True):
        super().__init__()
        # Initialised at 0, i.e. w = sigmoid(0) = 0.5: training starts from linear interpolation.
        self.weight = nn.Parameter(torch.zeros(features))
        self.context = context

    def forward(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Upsample ``x``; into ``out`` (any layout, e.g. a slice of a buffer) when given."""
        w = torch.sigmoid(self.weight)[:, None]  # (F, 1)
        right = x[..., 1:] if self.context else F.pad(x[..., 1:], (0, 1))  # (B, F, N-1) or (B, F, N)
        return interleave(x, w * x[..., : right.shape[-1]] + (1 - w) * right, out)


def linear_upsample(x: torch.Tensor, context: bool, out: torch.Tensor | None = None) -> torch.Tensor:
    """Double the time resolution by linear interpolation.

    With context: ``(B, F, N) -> (B, F, 2N - 1)``, new samples are midpoints (TF's
    ``resize_bilinear(align_corners=True)`` as in the paper's code). Without context:
    ``(B, F, N) -> (B, F, 2N)``, the last new sample repeats the last one (TF 1.x's legacy
    ``resize_bilinear``).

    Example:
        >>> linear_upsample(torch.tensor([[[0.0, 2.0, 4.0]]]), context=True).tolist()
        [[[0.0, 1.0, 2.0, 3.0, 4.0]]]
        >>> linear_upsample(torch.tensor([[[0.0, 2.0]]]), context=False).tolist()
        [[[0.0, 1.0, 2.0, 2.0]]]

    With ``out`` (a ``(B, F, 2N - 1)`` or ``(B, F, 2N)`` tensor of any layout) the result is
    written into it and returned, without temporaries: the same numbers.
    """
    right = x[..., 1:] if context else torch.cat([x[..., 1:], x[..., -1:]], dim=-1)
    left = x[..., : right.shape[-1]]
    if out is None:
        return interleave(x, 0.5 * (left + right))
    torch.add(left, right, out=out[..., 1::2]).mul_(0.5)  # the midpoints, computed in place
    out[..., 0::2] = x
    return out


def interleave(x: torch.Tensor, between: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``x[0], between[0], x[1], between[1], ...``: ``(B, F, N), (B, F, M) -> (B, F, N + M)``,
    into ``out`` when given."""
    B, Fe, N = x.shape
    if out is None:
        out = x.new_empty(B, Fe, N + between.shape[-1])
    out[..., 0::2] = x
    out[..., 1::2] = between
    return out


class WaveUNet(nn.Module):
    """The Wave-U-Net (Stoller et al., 2018).

    Args:
        sources: source names, in output order. With ``output="difference"`` the last one is
            computed as mixture minus the others.
        channels: audio channels C (1 = mono, 2 = stereo).
        sample_rate: the rate the model works at, in Hz (22050 in the paper).
        levels: number of down/up-sampling levels L (12 in the paper).
        features: extra filters per level Fc (24 in the paper).
        down_kernel: kernel size f_d of the downsampling and bottleneck convolutions (15).
        up_kernel: kernel size f_u of the upsampling convolutions (5).
        output_kernel: kernel size of the output convolutions (1).
        context: 'valid' convolutions with input context (True) or 'same' padding (False).
        upsampling: ``"linear"`` or ``"learned"`` interpolation.
        output: ``"difference"`` (last source = mixture - others) or ``"direct"``.
        output_activation: ``"tanh"`` (paper) or ``"identity"``.

    Shape:
        ``mix (B, C, T_in) -> estimates (B, S, C, T_out)``, ``T_out = output_length(T_in)``.

    Example:
        >>> net = WaveUNet(sources=("vocals", "accompaniment"), channels=1, levels=3, features=4)
        >>> n = net.valid_length(100)
        >>> net(torch.zeros(2, 1, n)).shape[-1] == net.output_length(n) >= 100
        True
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 22050,
        levels: int = 12,
        features: int = 24,
        down_kernel: int = 15,
        up_kernel: int = 5,
        output_kernel: int = 1,
        context: bool = True,
        upsampling: str = "linear",
        output: str = "difference",
        output_activation: str = "tanh",
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        for name, k in (("down_kernel", down_kernel), ("up_kernel", up_kernel), ("output_kernel", output_kernel)):
            if k < 1 or k % 2 == 0:
                raise ValueError(f"WaveUNet: {name} must be a positive odd number, got {k}")
        if levels < 1 or features < 1 or channels < 1:
            raise ValueError(
                f"WaveUNet: levels, features and channels must be >= 1, got {levels}, {features}, {channels}"
            )
        if upsampling not in ("linear", "learned"):
            raise ValueError(f"WaveUNet: upsampling must be 'linear' or 'learned', got {upsampling!r}")
        if output not in ("difference", "direct"):
            raise ValueError(f"WaveUNet: output must be 'difference' or 'direct', got {output!r}")
        if output_activation not in ("tanh", "identity"):
            raise ValueError(f"WaveUNet: output_activation must be 'tanh' or 'identity', got {output_activation!r}")
        if output == "difference" and len(sources) < 2:
            raise ValueError("WaveUNet: output='difference' needs at least two sources")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.levels = levels
        self.kernels = (down_kernel, up_kernel, output_kernel)
        self.context = context
        self.upsampling = upsampling
        self.output = output
        self.output_activation = output_activation
        check_context("WaveUNet", self.valid_length(1), sample_rate, f"levels={levels}")

        def conv(c_in: int, c_out: int, k: int) -> nn.Conv1d:
            # nn.Conv1d that also convolves time-major inputs fast (inference, see time_major.py)
            return Conv1d(c_in, c_out, k, padding=0 if context else k // 2)

        Fc, L, C = features, levels, channels
        self.down = nn.ModuleList(conv(C if i == 0 else Fc * i, Fc * (i + 1), down_kernel) for i in range(L))
        self.bottleneck = conv(Fc * L, Fc * (L + 1), down_kernel)
        # Up block i (from the bottom): upsampled Fc*(L+1-i) channels + skip Fc*(L-i) -> Fc*(L-i).
        self.up = nn.ModuleList(conv(Fc * (L + 1 - i) + Fc * (L - i), Fc * (L - i), up_kernel) for i in range(L))
        self.interpolate = nn.ModuleList(
            LearnedInterpolation(Fc * (L + 1 - i), context) for i in range(L) if upsampling == "learned"
        )
        # One output convolution per estimated source: never shared between sources.
        heads = len(sources) - 1 if output == "difference" else len(sources)
        self.heads = nn.ModuleList(conv(Fc + C, C, output_kernel) for _ in range(heads))

    #: Without autograd (``torch.no_grad`` / ``inference_mode``), run :meth:`inference_forward`:
    #: the same numbers in less time and memory. False: always the plain code below.
    fast_inference = True

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T_in)`` into ``(B, S, C, T_out)``."""
        check_mix(mix, self.channels, "WaveUNet")
        if self.fast_inference and not torch.is_grad_enabled():
            return self.inference_forward(mix)
        B, C, T = mix.shape
        T_out = self.output_length(T)  # raises a clear ValueError for lengths it cannot take
        x = mix
        skips = []
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)  # (B, Fc*i, T_i)
            skips.append(x)
            x = x[..., ::2]  # decimate: (B, Fc*i, ceil(T_i / 2))
        x = F.leaky_relu(self.bottleneck(x), 0.2)  # (B, Fc*(L+1), N)
        for i, conv in enumerate(self.up):
            if self.upsampling == "learned":
                x = self.interpolate[i](x)
            else:
                x = linear_upsample(x, self.context)  # (B, F, 2N - 1) or (B, F, 2N)
            skip = center_crop(skips[-1 - i], x.shape[-1])
            x = F.leaky_relu(conv(torch.cat([skip, x], dim=1)), 0.2)  # (B, Fc*(L-i), N')
        x = torch.cat([center_crop(mix, x.shape[-1]), x], dim=1)  # (B, C + Fc, N')
        estimates = [self._activate(head(x)) for head in self.heads]  # S' x (B, C, T_out)
        if self.output == "difference":
            estimates.append(center_crop(mix, T_out) - sum(estimates))
        out = torch.stack(estimates, dim=1)  # (B, S, C, T_out)
        assert out.shape[-1] == T_out
        return out

    def inference_forward(self, mix: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` for inference only (it modifies tensors in place, so autograd cannot
        go through it): the same layers and numbers (to float rounding, ~1e-6), faster.

        * activations are time-major (:mod:`waveunet_lit.models.time_major`): oneDNN
          convolves them without converting layouts;
        * LeakyReLU and tanh work in place;
        * each up block's input ``concat([skip, upsampled])`` is one preallocated buffer: the
          cropped skip is copied into its first channels and the upsampling writes its result
          straight into the others (no ``torch.cat``, no interleaved temporary);
        * each skip is freed once it has been copied, not kept to the end of the pass.

        Shape:
            ``mix (B, C, T_in) -> (B, S, C, T_out)``, as :meth:`forward`.
        """
        if torch.is_grad_enabled():
            raise RuntimeError("WaveUNet.inference_forward works in place: call it under torch.no_grad()")
        check_mix(mix, self.channels, "WaveUNet")
        B, C, T = mix.shape
        T_out = self.output_length(T)
        x = to_time_major(mix)  # (B, C, T), time-major
        skips = []
        for conv in self.down:
            x = F.leaky_relu_(conv(x), 0.2)  # (B, Fc*i, T_i)
            skips.append(x)
            x = x[..., ::2]  # decimate: a view; the next convolution reads it densely
        x = F.leaky_relu_(self.bottleneck(x), 0.2)  # (B, Fc*(L+1), N)
        for i, conv in enumerate(self.up):
            skip = skips.pop()  # (B, Fc*(L-i), T_skip): this level's, the deepest left
            Fs, (Fu, N) = skip.shape[1], x.shape[1:]
            n = 2 * N - 1 if self.context else 2 * N
            cat = empty_time_major(B, Fs + Fu, n, like=x)  # (B, Fs + Fu, n) = [skip, upsampled]
            cat[:, :Fs] = center_crop(skip, n)
            del skip  # its memory goes back now, not at the end of the pass
            if self.upsampling == "learned":
                self.interpolate[i](x, out=cat[:, Fs:])
            else:
                linear_upsample(x, self.context, out=cat[:, Fs:])
            del x  # upsampled into cat: free it before the convolution allocates its output
            x = F.leaky_relu_(conv(cat), 0.2)  # (B, Fc*(L-i), n')
            del cat
        n = x.shape[-1]
        cat = empty_time_major(B, C + x.shape[1], n, like=x)  # (B, C + Fc, n) = [mix, x]
        cat[:, :C] = center_crop(mix, n)
        cat[:, C:] = x
        out = mix.new_empty(B, len(self.sources), C, T_out)  # (B, S, C, T_out)
        estimates = []
        for s, head in enumerate(self.heads):
            out[:, s] = head(cat)
            estimates.append(self._activate(out[:, s], inplace=True))  # (B, C, T_out), views of out
        if self.output == "difference":
            torch.sub(center_crop(mix, T_out), sum(estimates), out=out[:, -1])
        return out

    def receptive_field(self) -> int:
        """Input samples one output sample can depend on (the widest over output positions,
        :func:`waveunet_receptive_field`); the tests check it with a gradient probe."""
        return waveunet_receptive_field(self)

    @property
    def period(self) -> int:
        """``2 ** levels``: shifts of the input by multiples of it shift the output alike (the
        decimations see the same sample grid); :func:`waveunet_lit.separate.separate` tiles
        songs with such hops."""
        return 2**self.levels

    def _activate(self, x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        if self.output_activation != "tanh":
            return x
        return x.tanh_() if inplace else torch.tanh(x)

    # ---------------------------------------------------------------- length arithmetic
    def output_length(self, n: int) -> int:
        """Output samples for an input of ``n`` samples (integer arithmetic, no forward pass).

        Example:
            >>> WaveUNet.from_preset("M4").output_length(147443)
            16389
        """
        L = self.levels
        if not self.context:
            if n <= 0 or n % 2**L:
                raise ValueError(
                    f"WaveUNet without context needs a length that is a positive multiple of "
                    f"2**levels = {2**L}, got {n}; use valid_length({n}) = {self.valid_length(max(n, 1))}"
                )
            return n
        kd, ku, ko = self.kernels
        m = n
        for _ in range(L):
            m = m - (kd - 1)  # valid conv
            if m < 1:
                break
            m = (m + 1) // 2  # decimation keeps ceil(m / 2) samples
        m = m - (kd - 1)  # bottleneck
        if m >= 1:
            for _ in range(L):
                m = 2 * m - 1 - (ku - 1)  # upsample, then valid conv
            m = m - (ko - 1)
        if m < 1:
            raise ValueError(
                f"WaveUNet: an input of {n} samples is shorter than the model's context; "
                f"it needs at least {self.valid_length(1)} samples"
            )
        return m

    def valid_length(self, n: int) -> int:
        """Smallest input length whose output has at least ``n`` samples.

        Example:
            >>> WaveUNet.from_preset("M4").valid_length(16384)
            147443
        """
        L = self.levels
        if not self.context:
            return -(-max(n, 1) // 2**L) * 2**L
        kd, ku, ko = self.kernels
        need = max(n, 1) + ko - 1
        for _ in range(L):  # invert "2m - 1 - (ku - 1)", rounding up
            need = (need + ku + 1) // 2
        m = max(need, 1) + kd - 1  # bottleneck input
        for _ in range(L):
            m = 2 * m - 1 + kd - 1  # undo decimation (fewest samples), then the conv
        return m

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "WaveUNet":
        """Build one of the paper's models, e.g. ``WaveUNet.from_preset("M4")``."""
        if name not in PRESETS:
            raise ValueError(f"unknown Wave-U-Net preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


def waveunet_receptive_field(net: "WaveUNet", n: int | None = None) -> int:
    """Receptive field of the classic :class:`WaveUNet`, by integer interval arithmetic.

    With context the skip crops depend on the parity of the lengths, so the answer is computed
    for an input of ``n`` samples (default: a valid length with a few output periods), over
    ``2 ** levels`` central output positions.

    Example:
        >>> waveunet_receptive_field(WaveUNet(levels=1, features=2, context=False))
        49
    """
    L = net.levels
    kd, ku, ko = net.kernels
    period = 2**L
    if n is None:
        n = net.valid_length(4 * period) if net.context else net.valid_length(period * (2 * (kd + ku) + 4))
    # Follow the forward pass to get every tensor's length, hence the crop offsets.
    m, skip_len = n, []
    for _ in range(L):
        m = m - (kd - 1) if net.context else m
        skip_len.append(m)
        m = (m + 1) // 2
    m = m - (kd - 1) if net.context else m
    up_len = []  # length after upsampling, from the bottom
    for _ in range(L):
        m = 2 * m - 1 if net.context else 2 * m
        up_len.append(m)
        m = m - (ku - 1) if net.context else m
    T_out = net.output_length(n)

    def conv(lo: int, hi: int, k: int) -> tuple[int, int]:
        return (lo, hi + k - 1) if net.context else (lo - k // 2, hi + k // 2)

    def down(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of skip i (i = L: bottleneck)
        lo, hi = conv(lo, hi, kd)
        return (lo, hi) if i == 0 else down(i - 1, 2 * lo, 2 * hi)

    def up(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of up block i's output
        lo, hi = conv(lo, hi, ku)  # in concat(crop(skip), upsampled)
        level = L - 1 - i
        off = (skip_len[level] - up_len[i]) // 2
        below = (lo // 2, -(-hi // 2))  # linear (or learned) interpolation reads x[i], x[i+1]
        deeper = down(L, *below) if i == 0 else up(i - 1, *below)
        return min(deeper[0], down(level, lo + off, hi + off)[0]), max(deeper[1], down(level, lo + off, hi + off)[1])

    last = up_len[-1] - (ku - 1) if net.context else up_len[-1]  # length of the last up output
    mix_off = (n - last) // 2
    def span(j: int) -> tuple[int, int]:  # input samples of output j (clipped to the input)
        lo, hi = conv(j, j, ko)  # the head reads concat(crop(mix), x)
        a = up(L - 1, lo, hi)
        lo, hi = min(a[0], lo + mix_off), max(a[1], hi + mix_off)
        if net.output == "difference":  # the last source reads the cropped mixture directly
            c = j + (n - T_out) // 2
            lo, hi = min(lo, c), max(hi, c)
        return max(lo, 0), min(hi, n - 1)  # samples outside the input are zero padding

    first = T_out // 2 - period // 2  # one period of central outputs, away from the borders
    return widest_span(lambda j: span(first + j), period)


_VOICE = ("vocals", "accompaniment")
_MUSDB = ("vocals", "drums", "bass", "other")

#: The paper's models (Section 4.3, Table 2 and Section 5.2). M1-M5 separate singing voice;
#: M6 is the multi-instrument model; M5-HighSR is M5 at 44.1 kHz.
PRESETS: dict[str, dict] = {
    "M1": dict(sources=_VOICE, channels=1, context=False, output="direct"),
    "M2": dict(sources=_VOICE, channels=1, context=False, output="difference"),
    "M3": dict(sources=_VOICE, channels=1, context=True, output="difference"),
    "M4": dict(sources=_VOICE, channels=2, context=True, output="difference"),
    "M5": dict(sources=_VOICE, channels=2, context=True, output="difference", upsampling="learned"),
    "M6": dict(sources=_MUSDB, channels=2, context=True, output="difference"),
    "M5-HighSR": dict(
        sources=_VOICE, channels=2, context=True, output="difference", upsampling="learned", sample_rate=44100
    ),
}
