"""A lightweight spectrogram U-Net, inspired by TFC-TDF-UNet v3 (Kim & Kim, "Sound Demixing
Challenge 2023 Music Demixing Track Technical Report: TFC-TDF-UNet v3",
https://arxiv.org/abs/2306.09382).

The waveform goes through the shared :class:`~waveunet_lit.models.stft.STFT`; the network sees
the mixture's magnitude spectrogram, with the audio channels as image channels::

    mix (B, C, T) -> |STFT| (B, C, F, N) -> zero-pad F, N to multiples of 2 ** levels
    encoder level l:  block(8 / 16 / 32 filters) -> keep for skip -> MaxPool2d(2)
    bottleneck:       block(64 filters) -> Dropout(0.3)
    decoder level l:  ConvTranspose2d(2, stride 2) -> concat skip l -> block -> Dropout(0.2)
    head, one per source: Conv2d(1 x 1) -> magnitude (ReLU) or mask (sigmoid) for each channel
    -> crop the padding -> magnitude x mixture phase -> iSTFT -> (B, S, C, T)

``block="conv"`` (the lightweight default) is Conv2d(3 x 3) -> BatchNorm -> ReLU. ``block="tfc_tdf"``
turns the "inspired by" up to a real TFC-TDF block (the paper's Section 2): a time-frequency
convolution (TFC), a *time-distributed fully connected* layer (TDF) that mixes all frequency
bins of each frame through a bottleneck of ``F / tdf_factor`` units, added back as a residual,
a second TFC, and a 1 x 1 shortcut around the whole block. The TDF is why the number of
frequency bins at each level is fixed by ``n_fft`` at construction.

Output length: the STFT pair reconstructs any length exactly, so ``output_length(n) == n`` and
``valid_length(n) == n``: the model pads internally (time frames and frequency bins up to a
multiple of ``2 ** levels``) and crops back.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .common import check_mix, record_init
from .stft import STFT, crop_to, pad_to_multiple, with_phase_of

__all__ = ["SpecUNet", "ConvBlock", "TFCTDFBlock"]


class ConvBlock(nn.Module):
    """Conv2d(3 x 3, 'same') -> BatchNorm2d -> ReLU: ``(B, D_in, F, N) -> (B, D_out, F, N)``.

    ``bins`` is accepted so that both block kinds share one signature; a convolution does not
    depend on it.
    """

    def __init__(self, d_in: int, d_out: int, bins: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(d_in, d_out, 3, padding=1), nn.BatchNorm2d(d_out), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TFCTDFBlock(nn.Module):
    """TFC -> TDF (residual) -> TFC, plus a 1 x 1 shortcut (TFC-TDF-UNet v3, Section 2).

    Args:
        d_in: input feature maps.
        d_out: output feature maps.
        bins: frequency bins F at this level (the TDF's fully connected layers act on them).
        tdf_factor: the TDF bottleneck has ``max(F // tdf_factor, 1)`` units.

    Shape:
        ``(B, D_in, F, N) -> (B, D_out, F, N)``.

    Example:
        >>> TFCTDFBlock(2, 8, bins=16)(torch.zeros(3, 2, 16, 5)).shape
        torch.Size([3, 8, 16, 5])
    """

    def __init__(self, d_in: int, d_out: int, bins: int, tdf_factor: int = 4):
        super().__init__()
        hidden = max(bins // tdf_factor, 1)
        self.tfc1 = ConvBlock(d_in, d_out, bins)
        # The TDF: the same two fully connected layers for every frame and feature map,
        # mixing the F bins of a frame (time-distributed over N). It runs on (B, D, N, F);
        # BatchNorm2d normalises each of the D maps whatever the order of the last two axes.
        self.tdf = nn.Sequential(
            nn.Linear(bins, hidden, bias=False),
            nn.BatchNorm2d(d_out),
            nn.ReLU(),
            nn.Linear(hidden, bins, bias=False),
            nn.BatchNorm2d(d_out),
            nn.ReLU(),
        )
        self.tfc2 = ConvBlock(d_out, d_out, bins)
        self.shortcut = nn.Conv2d(d_in, d_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tfc1(x)  # (B, D, F, N)
        y = y + self.tdf(y.transpose(-1, -2)).transpose(-1, -2)  # Linear over F: (B, D, N, F) -> (B, D, F, N)
        return self.tfc2(y) + self.shortcut(x)  # (B, D, F, N)


class SpecUNet(nn.Module):
    """Magnitude-spectrogram U-Net with mixture-phase reconstruction.

    Args:
        sources: source names, in output order; each has its own 1 x 1 output convolution.
        channels: audio channels C (1 or 2; they are the U-Net's input feature maps).
        sample_rate: the rate the model works at, in Hz (16 kHz in the recipe).
        n_fft: STFT size (1024 in the recipe, Hann window).
        hop_length: STFT hop (512 in the recipe).
        filters: feature maps of the encoder levels; ``levels = len(filters)``.
        bottleneck: feature maps of the bottleneck.
        bottleneck_dropout: dropout after the bottleneck (0.3).
        decoder_dropout: dropout after each decoder block (0.2).
        output: ``"magnitude"`` (heads predict magnitudes, ReLU) or ``"mask"`` (heads predict
            a [0, 1] mask by sigmoid, multiplied with the mixture magnitude).
        block: ``"conv"`` (Conv-BN-ReLU) or ``"tfc_tdf"`` (see :class:`TFCTDFBlock`).
        tdf_factor: bottleneck factor of the TDF layers (only used with ``block="tfc_tdf"``).

    Shape:
        ``mix (B, C, T) -> estimates (B, S, C, T)``.

    Example:
        >>> net = SpecUNet(sources=("vocals", "accompaniment"), channels=1, n_fft=256, hop_length=128)
        >>> net(torch.zeros(2, 1, 1000)).shape
        torch.Size([2, 2, 1, 1000])
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        hop_length: int = 512,
        filters: tuple[int, ...] = (8, 16, 32),
        bottleneck: int = 64,
        bottleneck_dropout: float = 0.3,
        decoder_dropout: float = 0.2,
        output: str = "magnitude",
        block: str = "conv",
        tdf_factor: int = 4,
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if len(sources) < 1:
            raise ValueError("SpecUNet: sources must name at least one source")
        if channels < 1:
            raise ValueError(f"SpecUNet: channels must be >= 1, got {channels}")
        if len(filters) < 1 or min(filters) < 1 or bottleneck < 1:
            raise ValueError(f"SpecUNet: filters and bottleneck must be positive, got {filters}, {bottleneck}")
        if output not in ("magnitude", "mask"):
            raise ValueError(f"SpecUNet: output must be 'magnitude' or 'mask', got {output!r}")
        if block not in ("conv", "tfc_tdf"):
            raise ValueError(f"SpecUNet: block must be 'conv' or 'tfc_tdf', got {block!r}")
        if tdf_factor < 1:
            raise ValueError(f"SpecUNet: tdf_factor must be >= 1, got {tdf_factor}")
        for name, p in (("bottleneck_dropout", bottleneck_dropout), ("decoder_dropout", decoder_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"SpecUNet: {name} must be in [0, 1), got {p}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.output = output
        self.stft = STFT(n_fft, hop_length, "hann")  # raises for an n_fft/hop it cannot invert
        self.levels = len(filters)
        self.multiple = 2**self.levels
        bins = -(-self.stft.bins // self.multiple) * self.multiple  # padded F at level 0

        def make(d_in: int, d_out: int, f: int) -> nn.Module:
            return ConvBlock(d_in, d_out, f) if block == "conv" else TFCTDFBlock(d_in, d_out, f, tdf_factor)

        ins = (channels,) + tuple(filters[:-1])
        self.encoder = nn.ModuleList(make(i, o, bins >> l) for l, (i, o) in enumerate(zip(ins, filters)))
        self.bottleneck = make(filters[-1], bottleneck, bins >> self.levels)
        self.bottleneck_dropout = nn.Dropout(bottleneck_dropout)
        outs = (bottleneck,) + tuple(reversed(filters[1:]))
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(i, o, 2, stride=2) for i, o in zip(outs, reversed(filters))
        )
        self.decoder = nn.ModuleList(
            make(2 * o, o, bins >> (self.levels - 1 - k)) for k, o in enumerate(reversed(filters))
        )
        self.decoder_dropout = nn.Dropout(decoder_dropout)
        # One head per source: never one convolution shared by all sources.
        self.heads = nn.ModuleList(nn.Conv2d(filters[0], channels, 1) for _ in self.sources)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T)`` into ``(B, S, C, T)``."""
        check_mix(mix, self.channels, "SpecUNet")
        B, C, T = mix.shape
        spec = self.stft(mix)  # (B, C, F, N) complex
        Fb, N = spec.shape[-2:]
        magnitude = spec.abs()  # (B, C, F, N)
        x = pad_to_multiple(magnitude, self.multiple, self.multiple)  # (B, C, F', N')
        skips = []
        for block in self.encoder:
            x = block(x)  # (B, D_l, F_l, N_l)
            skips.append(x)
            x = F.max_pool2d(x, 2)  # (B, D_l, F_l / 2, N_l / 2)
        x = self.bottleneck_dropout(self.bottleneck(x))  # (B, D_bottleneck, F' / 2^L, N' / 2^L)
        for up, block, skip in zip(self.upsample, self.decoder, reversed(skips)):
            x = torch.cat([up(x), skip], dim=1)  # (B, 2 D_l, F_l, N_l)
            x = self.decoder_dropout(block(x))  # (B, D_l, F_l, N_l)
        heads = torch.stack([head(x) for head in self.heads], dim=1)  # (B, S, C, F', N')
        heads = crop_to(heads, Fb, N)  # (B, S, C, F, N)
        if self.output == "magnitude":
            estimate = F.relu(heads)
        else:
            estimate = torch.sigmoid(heads) * magnitude[:, None]  # (B, S, C, F, N)
        out = self.stft.inverse(with_phase_of(estimate, spec[:, None]), T)  # (B, S, C, T)
        return out

    @property
    def period(self) -> int:
        """``hop_length * 2 ** levels``: one frame of the U-Net's coarsest level.

        Example:
            >>> SpecUNet(hop_length=512, filters=(8, 16, 32)).period
            4096
        """
        return self.stft.hop_length * self.multiple

    def output_length(self, n: int) -> int:
        """``n``: the STFT pair reconstructs every length exactly (see the module docstring).

        Example:
            >>> SpecUNet().output_length(16001)
            16001
        """
        if n < 1:
            raise ValueError(f"SpecUNet: the input needs at least 1 sample, got {n}")
        return n

    def valid_length(self, n: int) -> int:
        """``n``: the model pads internally, so every length is valid (at least 1 sample).

        Example:
            >>> SpecUNet().valid_length(16001)
            16001
        """
        return max(n, 1)
