"""The mask-output U-Net of the "Stem Splitter" design, in the time domain.

The recipe follows the U-Net of Jansson et al. (ISMIR 2017, "Singing voice separation with deep
U-Net convolutional networks"), which Spleeter and the "Stem Splitter" write-ups reuse, with 1-D
convolutions over the waveform instead of 2-D ones over a spectrogram::

    input x_0 = mix  (B, 1, n_0)
    encoder i = 0..L-1:  x_{i+1} = LeakyReLU(BatchNorm(Conv1d(x_i, k, stride 2)))   16, 32, ..., 512 filters
    decoder i = L-1..1:  y_i = Dropout(ReLU(BatchNorm(ConvTranspose1d(concat(y_{i+1}, x_{i+1})))))
                         (y_L = x_L; dropout 0.5 on the first ``dropout_layers`` decoder layers)
    mask:                m = sigmoid(ConvTranspose1d(concat(y_1, x_1)))   one channel per source
    output:              source_s = m_s * mix

The network never writes audio itself: each source is the mixture with a time-varying gain in
[0, 1]. Train it with the MAE loss (:class:`waveunet_lit.losses.L1Loss`). The recipe is mono:
``channels`` must be 1.

Lengths work as in :mod:`.strided`: the transposed convolutions are given the length of the
matching encoder tensor (``output_size``), so the output is exactly as long as the input.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .common import check_context, check_mix, hull, record_init, widest_span
from .strided import check_strided_args, conv_input_span, strided_lengths, strided_min_length, transposed_input_span

__all__ = ["MaskUNet"]


class MaskUNet(nn.Module):
    """Mono U-Net that predicts one soft mask per source and applies it to the mixture.

    Args:
        sources: source names, in output order.
        channels: must be 1: the recipe is mono (downmix stereo before, or use another model).
        sample_rate: the rate the model works at, in Hz.
        levels: encoder/decoder levels L; level ``i`` (0-based) has ``features * 2**i`` filters.
        features: filters of the first level (16, doubling to 512 over 6 levels).
        kernel_size: kernel k of every strided and transposed convolution.
        stride: resampling factor per level (2 in the recipe); the model's :attr:`period` is
            ``stride ** levels``.
        padding: zero padding p of the convolutions, ``0 <= p <= (k - 1) // 2``.
        dropout: dropout probability in the first decoder layers (0.5 in the recipe).
        dropout_layers: how many decoder layers, from the bottom, use dropout (3 in the recipe);
            the mask layer never does, so at most ``levels - 1`` layers have it.
        mask: ``"sigmoid"`` (independent gains, the recipe) or ``"softmax"`` (gains sum to 1
            over the sources, so the estimates add up to the mixture).

    Shape:
        ``mix (B, 1, T) -> estimates (B, S, 1, T)``.

    Example:
        >>> net = MaskUNet(sources=("vocals", "accompaniment"), levels=3, features=4)
        >>> net(torch.rand(2, 1, 999)).shape
        torch.Size([2, 2, 1, 999])
        >>> MaskUNet(channels=2)
        Traceback (most recent call last):
        ...
        ValueError: MaskUNet: channels must be 1 (the Stem Splitter recipe is mono), got 2; downmix the input or choose another model
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 1,
        sample_rate: int = 22050,
        levels: int = 6,
        features: int = 16,
        kernel_size: int = 15,
        stride: int = 2,
        padding: int = 7,
        dropout: float = 0.5,
        dropout_layers: int = 3,
        mask: str = "sigmoid",
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if channels != 1:
            raise ValueError(
                f"MaskUNet: channels must be 1 (the Stem Splitter recipe is mono), got {channels}; "
                f"downmix the input or choose another model"
            )
        check_strided_args("MaskUNet", kernel_size, stride, padding, levels)
        if features < 1 or len(sources) < 1:
            raise ValueError(f"MaskUNet: features and len(sources) must be >= 1, got {features}, {len(sources)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MaskUNet: dropout must be in [0, 1), got {dropout}")
        if dropout_layers < 0:
            raise ValueError(f"MaskUNet: dropout_layers must be >= 0, got {dropout_layers}")
        if mask not in ("sigmoid", "softmax"):
            raise ValueError(f"MaskUNet: mask must be 'sigmoid' or 'softmax', got {mask!r}")
        check_context("MaskUNet", strided_min_length(kernel_size, stride, padding, levels), sample_rate,
                      f"levels={levels} with stride={stride}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.levels = levels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.mask = mask

        widths = [features * 2**i for i in range(levels)]  # 16, 32, ..., 512
        k, s, p, L = kernel_size, stride, padding, levels
        self.encoder = nn.ModuleList(
            nn.Sequential(nn.Conv1d(1 if i == 0 else widths[i - 1], widths[i], k, s, p), nn.BatchNorm1d(widths[i]))
            for i in range(L)
        )
        # Decoder level i (applied from L-1 down to 0) writes the resolution of x_i. The bottom
        # one reads x_L alone, the others concat(y_{i+1}, x_{i+1}), i.e. 2 * widths[i] channels.
        self.decoder = nn.ModuleList(
            nn.ConvTranspose1d(widths[i] * (1 if i == L - 1 else 2), widths[i - 1] if i > 0 else len(self.sources), k, s, p)
            for i in range(L)
        )
        self.decoder_norm = nn.ModuleList(nn.BatchNorm1d(widths[i - 1]) for i in range(1, L))  # index i-1
        self.dropout = nn.ModuleList(
            nn.Dropout(dropout if L - 1 - i < dropout_layers else 0.0) for i in range(1, L)  # index i-1
        )

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, 1, T)`` into ``(B, S, 1, T)``."""
        check_mix(mix, self.channels, "MaskUNet")
        B, C, T = mix.shape
        lengths = self._lengths(T)  # [n_0, ..., n_L]
        x = mix
        skips = []
        for layer in self.encoder:
            x = F.leaky_relu(layer(x), 0.2)  # (B, widths[i], n_{i+1})
            skips.append(x)
        y = skips[-1]
        for i in reversed(range(self.levels)):
            if i < self.levels - 1:
                y = torch.cat([y, skips[i]], dim=1)  # (B, 2 * widths[i], n_{i+1})
            y = self.decoder[i](y, output_size=[lengths[i]])  # (B, widths[i-1] or S, n_i)
            if i > 0:
                y = self.dropout[i - 1](F.relu(self.decoder_norm[i - 1](y)))
        masks = torch.sigmoid(y) if self.mask == "sigmoid" else torch.softmax(y, dim=1)  # (B, S, T)
        return masks[:, :, None, :] * mix[:, None]  # (B, S, 1, T)

    def _lengths(self, n: int) -> list[int]:
        try:
            return strided_lengths(n, self.kernel_size, self.stride, self.padding, self.levels)
        except ValueError as err:
            raise ValueError(f"MaskUNet: {err}") from None

    @property
    def period(self) -> int:
        """``stride ** levels``: the output follows input shifts by multiples of it.

        Example:
            >>> MaskUNet().period
            64
        """
        return self.stride**self.levels

    # ---------------------------------------------------------------- length arithmetic
    def output_length(self, n: int) -> int:
        """Output samples for ``n`` input samples: ``n``, once ``n >= valid_length(1)``.

        Example:
            >>> MaskUNet().output_length(44101)
            44101
        """
        self._lengths(n)
        return n

    def valid_length(self, n: int) -> int:
        """Smallest input length whose output has at least ``n`` samples.

        Example:
            >>> MaskUNet(levels=3, kernel_size=4, stride=2, padding=1).valid_length(1)
            8
        """
        return max(n, strided_min_length(self.kernel_size, self.stride, self.padding, self.levels))

    # ---------------------------------------------------------------- receptive field
    def input_span(self, j: int) -> tuple[int, int]:
        """First and last input sample (unclipped) that output sample ``j`` depends on."""
        k, s, p, L = self.kernel_size, self.stride, self.padding, self.levels

        def encoder(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of x_i
            for _ in range(i):
                lo, hi = conv_input_span(lo, hi, k, s, p)
            return lo, hi

        def decoder(i: int, lo: int, hi: int) -> tuple[int, int]:  # samples of y_i
            lo, hi = transposed_input_span(lo, hi, k, s, p)
            if i == L - 1:
                return encoder(L, lo, hi)
            return hull(decoder(i + 1, lo, hi), encoder(i + 1, lo, hi))

        return hull(decoder(0, j, j), (j, j))  # the mask multiplies the mixture at j

    def receptive_field(self) -> int:
        """Input samples that can influence one output sample (most over output positions).

        Example:
            >>> MaskUNet(levels=1, kernel_size=4, stride=2, padding=1).receptive_field()
            6
        """
        return widest_span(self.input_span, self.period)
