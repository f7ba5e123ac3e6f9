"""Band-split RNN (BSRNN) with Squeeze-and-Excitation after every BLSTM.

Paper: Luo & Yu, "Music Source Separation with Band-split RNN", IEEE/ACM TASLP 2023,
https://arxiv.org/abs/2209.15174. Squeeze-and-Excitation: Hu, Shen & Sun, CVPR 2018,
https://arxiv.org/abs/1709.01507. The data flow::

    mix (B, C, T) -> STFT (B, C, F, N) complex
    band split:  the F bins are cut into K sub-bands (the band plan); band k's real and imaginary
                 parts of all channels, (B, N, 2 C W_k), go through LayerNorm + Linear -> (B, N, D)
                 -> stacked (B, K, N, D)
    band-sequence modelling, ``layers`` times:
        residual BLSTM over time  (each band is a sequence of N frames)  -> SE
        residual BLSTM over bands (each frame is a sequence of K bands)  -> SE
    mask estimation, per source and per band: LayerNorm -> Linear(D, H) -> tanh
                 -> Linear(H, 2 * 2 C W_k) -> GLU -> complex mask (B, C, W_k, N)
    masks x mixture spectrogram -> iSTFT -> (B, S, C, T)

The **SE layer** (``se=True``) rescales the D features: it averages the (B, K, N, D) tensor over
bands and frames (squeeze, -> (B, D)), passes that through Linear(D, D / r) -> ReLU ->
Linear(D / r, D) -> sigmoid (excitation) and multiplies every feature by its weight. It holds
``2 D (D / r) + D / r + D`` parameters; ``se=False`` removes all ``2 * layers`` of them, so the
course can ablate it with one argument.

The **band plan** ``band_edges`` lists edges in Hz from 0 to the Nyquist frequency; band k holds
the STFT bins between edges k and k + 1 (each edge rounded to the nearest bin, the Nyquist bin
joins the last band). The default is the paper's split for vocals (its "v7" plan): 100 Hz
bands up to 1 kHz, 250 Hz up to 4 kHz, 500 Hz up to 8 kHz, 1 kHz up to 16 kHz, 2 kHz up to
20 kHz, and one band for the rest, cut at the Nyquist frequency of ``sample_rate``.

Output length: ``output_length(n) == n`` and ``valid_length(n) == n``: the STFT pair pads
internally and reconstructs every length exactly.
"""

import torch
import torch.nn.functional as F_
from torch import nn

from .common import check_mix, record_init
from .grouped import GroupedLayerNorm, GroupedLinear
from .stft import STFT, apply_complex_mask

__all__ = ["BandSplitRNN", "SqueezeExcitation", "ResidualBLSTM", "paper_band_edges"]


def paper_band_edges(sample_rate: int) -> tuple[float, ...]:
    """The BSRNN vocals band plan (see the module docstring), in Hz, up to ``sample_rate / 2``.

    Example:
        >>> edges = paper_band_edges(44100)
        >>> len(edges) - 1, edges[:3], edges[-2:]
        (41, (0.0, 100.0, 200.0), (20000.0, 22050.0))
    """
    nyquist = sample_rate / 2
    edges = [0.0]
    for stop, width in ((1000, 100), (4000, 250), (8000, 500), (16000, 1000), (20000, 2000)):
        while edges[-1] + width <= min(stop, nyquist) and edges[-1] + width < nyquist:
            edges.append(edges[-1] + width)
    edges.append(nyquist)
    return tuple(edges)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-Excitation over the feature axis of ``(B, K, N, D)``.

    Args:
        features: D.
        reduction: r; the hidden layer has ``max(D // r, 1)`` units.

    Example:
        >>> se = SqueezeExcitation(8, reduction=4)
        >>> se(torch.ones(2, 3, 5, 8)).shape, sum(p.numel() for p in se.parameters()) == 2 * 8 * 2 + 2 + 8
        (torch.Size([2, 3, 5, 8]), True)
    """

    def __init__(self, features: int, reduction: int = 4):
        super().__init__()
        hidden = max(features // reduction, 1)
        self.excite = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, features), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.excite(x.mean(dim=(1, 2)))  # squeeze over bands and frames: (B, D)
        return x * weights[:, None, None, :]  # (B, K, N, D)


class ResidualBLSTM(nn.Module):
    """``x + Linear(BLSTM(LayerNorm(x)))`` along the sequence axis of ``(B', L, D)``.

    Example:
        >>> ResidualBLSTM(8, 6)(torch.zeros(4, 10, 8)).shape
        torch.Size([4, 10, 8])
    """

    def __init__(self, features: int, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(features)
        self.rnn = nn.LSTM(features, hidden, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * hidden, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(self.norm(x))  # (B', L, 2 H)
        return x + self.proj(y)  # (B', L, D)


class BandSplitRNN(nn.Module):
    """BSRNN with SE attention, complex masks for every source.

    Args:
        sources: source names, in output order; each has its own mask estimators.
        channels: audio channels C (1 or 2); they are stacked inside each band's features.
        sample_rate: the rate the model works at, in Hz.
        n_fft: STFT size (Hann window).
        hop_length: STFT hop.
        band_edges: the band plan in Hz, ``0 = e_0 < e_1 < ... < e_K = sample_rate / 2``;
            ``None`` takes :func:`paper_band_edges`.
        features: D, the features per band.
        hidden: hidden units per direction of every BLSTM.
        layers: number of (time BLSTM, band BLSTM) pairs.
        mlp_hidden: hidden units of the mask-estimation MLPs.
        se: a Squeeze-and-Excitation layer after every BLSTM.
        se_reduction: r of the SE layers.
        consistent: make the masks add up to one in every bin (Wisdom et al., "Differentiable
            consistency constraints for improved deep speech enhancement", ICASSP 2019): each
            source's mask gets a share of the remainder ``1 - sum_k M_k`` in proportion to its
            power ``|M_j|^2``, so the estimates add up to the mixture, in training too.

    Raises:
        ValueError: a band plan that does not start at 0 Hz and end at the Nyquist frequency,
            whose edges do not increase (overlapping bands), or with a band narrower than one
            STFT bin; an ``n_fft``/``hop_length`` the STFT cannot invert.

    Shape:
        ``mix (B, C, T) -> estimates (B, S, C, T)``.

    Example:
        >>> net = BandSplitRNN(sources=("vocals", "other"), channels=2, sample_rate=8000, n_fft=256,
        ...                    hop_length=128, band_edges=(0, 500, 1000, 2000, 4000), features=8,
        ...                    hidden=8, layers=1, mlp_hidden=8)
        >>> net(torch.zeros(3, 2, 1000)).shape
        torch.Size([3, 2, 2, 1000])
        >>> net.band_widths
        (16, 16, 32, 65)
        >>> net.width_groups  # (width, bands): the bands of one width share their layers' tensors
        ((16, (0, 1)), (32, (2,)), (65, (3,)))
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 44100,
        n_fft: int = 2048,
        hop_length: int = 512,
        band_edges: tuple[float, ...] | None = None,
        features: int = 64,
        hidden: int = 128,
        layers: int = 6,
        mlp_hidden: int = 256,
        se: bool = True,
        se_reduction: int = 4,
        consistent: bool = False,
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if len(sources) < 1:
            raise ValueError("BandSplitRNN: sources must name at least one source")
        if channels < 1:
            raise ValueError(f"BandSplitRNN: channels must be >= 1, got {channels}")
        for name, value in (("features", features), ("hidden", hidden), ("layers", layers),
                            ("mlp_hidden", mlp_hidden), ("se_reduction", se_reduction)):
            if value < 1:
                raise ValueError(f"BandSplitRNN: {name} must be >= 1, got {value}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.stft = STFT(n_fft, hop_length, "hann")  # raises for an n_fft/hop it cannot invert
        self.band_edges = tuple(float(e) for e in (band_edges if band_edges is not None else paper_band_edges(sample_rate)))
        self.band_widths = band_widths(self.band_edges, sample_rate, n_fft)
        self.use_se = se
        self.consistent = consistent

        C, S, K = channels, len(self.sources), len(self.band_widths)
        # The bands of one width share their layers' tensors (waveunet_lit.models.grouped), so
        # each layer below runs all of its bands (and sources) as one batched product.
        groups: dict[int, list[int]] = {}
        for k, w in enumerate(self.band_widths):
            groups.setdefault(w, []).append(k)
        self.width_groups = tuple((w, tuple(bands)) for w, bands in groups.items())  # (w, bands of width w)
        grouped = [k for _, bands in self.width_groups for k in bands]  # the bands, regrouped by width
        starts = [sum(self.band_widths[:k]) for k in range(K)]
        bins = [starts[k] + i for k in grouped for i in range(self.band_widths[k])]
        self.register_buffer("grouped_bands", torch.tensor(grouped), persistent=False)  # (K,)
        self.register_buffer("band_order", torch.argsort(self.grouped_bands), persistent=False)  # its inverse
        self.register_buffer("grouped_bins", torch.tensor(bins), persistent=False)  # (F,) the bins, band by band
        self.register_buffer("bin_order", torch.argsort(self.grouped_bins), persistent=False)  # its inverse

        # band_in[g]: LayerNorm + Linear(2 C w, D) for each band of width group g.
        self.band_in = nn.ModuleList(
            nn.Sequential(GroupedLayerNorm((len(bands),), 2 * C * w), GroupedLinear((len(bands),), 2 * C * w, features))
            for w, bands in self.width_groups
        )
        # Layer 2 i runs over time, layer 2 i + 1 over bands.
        self.rnns = nn.ModuleList(ResidualBLSTM(features, hidden) for _ in range(2 * layers))
        self.se = nn.ModuleList(SqueezeExcitation(features, se_reduction) for _ in range(2 * layers) if se)
        # The mask estimator of source s and band k: LayerNorm -> Linear(D, H) -> tanh (one size
        # for all, indexed [s, k]) -> Linear(H, 2 * 2 C W_k) -> GLU (mask_out[g], indexed [s, i]
        # for the i-th band of width group g). The GLU halves 2 * (2 C W_k) outputs to 2 C W_k.
        self.mask_hidden = nn.Sequential(
            GroupedLayerNorm((S, K), features), GroupedLinear((S, K), features, mlp_hidden), nn.Tanh()
        )
        self.mask_out = nn.ModuleList(
            nn.Sequential(GroupedLinear((S, len(bands)), mlp_hidden, 2 * 2 * C * w), nn.GLU(dim=-1))
            for w, bands in self.width_groups
        )
        # torch's public pre-hook: called as hook(module, state, prefix, ...), so the plain function
        self.register_load_state_dict_pre_hook(BandSplitRNN._stack_per_band_state)

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T)`` into ``(B, S, C, T)``."""
        check_mix(mix, self.channels, "BandSplitRNN")
        B, C, T = mix.shape
        spec = self.stft(mix)  # (B, C, F, N) complex
        N = spec.shape[-1]
        x = torch.view_as_real(spec).permute(0, 3, 1, 4, 2)  # (B, N, C, 2, F)
        z = self.split_bands(x)  # (B, K, N, D)
        B, K, N, D = z.shape
        for i, rnn in enumerate(self.rnns):
            if i % 2 == 0:  # over time: one sequence of N frames per band
                z = rnn(z.reshape(B * K, N, D)).reshape(B, K, N, D)
            else:  # over bands: one sequence of K bands per frame
                z = rnn(z.transpose(1, 2).reshape(B * N, K, D)).reshape(B, N, K, D).transpose(1, 2)
            if self.use_se:
                z = self.se[i](z)  # (B, K, N, D)
        mask = self.estimate_masks(z).permute(0, 1, 3, 5, 2, 4)  # (B, S, C, F, N, 2)
        if self.consistent:
            mask = consistent_masks(mask)
        return self.stft.inverse(apply_complex_mask(mask, spec[:, None]), T)  # (B, S, C, T)

    # The band split and the mask estimators are K (and S x K) small networks, one per band:
    # the two *_per_band methods below run them as the paper writes them, one band at a time.
    # That is hundreds of tiny operations per step, and calling them took a large part of a CPU
    # step. split_bands and estimate_masks compute the same, but run all bands of one width
    # (and, for the masks' first layer, all bands and sources) as one batched product
    # (bench/bsrnn_step.py times both).

    def _band_position(self, k: int) -> tuple[int, int]:
        """``(g, i)``: band ``k`` is the ``i``-th band of width group ``g``."""
        for g, (_, bands) in enumerate(self.width_groups):
            if k in bands:
                return g, bands.index(k)
        raise IndexError(f"BandSplitRNN: no band {k}")

    def split_bands_per_band(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`split_bands` one band at a time (for reading, tests and the bench)."""
        B, N = x.shape[:2]
        bands, lo = [], 0
        for k, w in enumerate(self.band_widths):
            g, i = self._band_position(k)
            norm, linear = self.band_in[g]
            v = x[..., lo : lo + w].reshape(B, N, -1)  # (B, N, 2 C w): band k's values
            v = F_.layer_norm(v, v.shape[-1:], norm.weight[i], norm.bias[i], norm.eps)
            bands.append(F_.linear(v, linear.weight[i], linear.bias[i]))  # (B, N, D)
            lo += w
        return torch.stack(bands, dim=1)  # (B, K, N, D)

    def estimate_masks_per_band(self, z: torch.Tensor) -> torch.Tensor:
        """:meth:`estimate_masks` one source and band at a time (for reading, tests and the bench)."""
        B, K, N, D = z.shape
        norm, hidden, _ = self.mask_hidden
        masks = []
        for s in range(len(self.sources)):
            m = []
            for k, w in enumerate(self.band_widths):
                g, i = self._band_position(k)
                out = self.mask_out[g][0]
                h = F_.layer_norm(z[:, k], (D,), norm.weight[s, k], norm.bias[s, k], norm.eps)
                h = torch.tanh(F_.linear(h, hidden.weight[s, k], hidden.bias[s, k]))  # (B, N, H)
                v = F_.glu(F_.linear(h, out.weight[s, i], out.bias[s, i]), dim=-1)  # (B, N, 2 C w)
                m.append(v.reshape(B, N, self.channels, 2, w))
            masks.append(torch.cat(m, dim=-1))  # (B, N, C, 2, F)
        return torch.stack(masks, dim=1)  # (B, S, N, C, 2, F)

    def split_bands(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, N, C, 2, F)`` (real and imaginary parts) -> band features ``(B, K, N, D)``:
        LayerNorm + Linear on each band's ``2 C W_k`` values, a width group at a time."""
        B, N, C = x.shape[:3]
        x = x.index_select(-1, self.grouped_bins)  # (B, N, C, 2, F): the bins band by band, a width group at a time
        out, lo = [], 0
        for (w, bands), layer in zip(self.width_groups, self.band_in):
            G = len(bands)
            xs = x[..., lo : lo + G * w].reshape(B, N, C, 2, G, w).permute(0, 4, 1, 2, 3, 5)  # (B, G, N, C, 2, w)
            out.append(layer(xs.reshape(B, G, N, 2 * C * w)))  # (B, G, N, D)
            lo += G * w
        return torch.cat(out, dim=1).index_select(1, self.band_order)  # (B, K, N, D), bands in frequency order

    def estimate_masks(self, z: torch.Tensor) -> torch.Tensor:
        """Band features ``z (B, K, N, D)`` -> complex masks ``(B, S, N, C, 2, F)``:
        LayerNorm -> Linear -> tanh -> Linear -> GLU for every source and band."""
        B, K, N, D = z.shape
        S, C = len(self.sources), self.channels
        # The bands are regrouped by width on the way in, where the tensor is small (D features),
        # and the first layer's parameters with them; torch.split then hands each width group
        # its bands (its backward is one concatenation, where slices would each zero-fill a
        # gradient of the whole (B, S, K, N, H) tensor).
        norm, linear, act = self.mask_hidden
        k = self.grouped_bands
        h = act(linear(norm(z.index_select(1, k)[:, None], select=k), select=k))  # (B, S, K, N, H), from (B, 1, K, N, D)
        out = []
        for (w, bands), layer, hg in zip(self.width_groups, self.mask_out, h.split([len(b) for _, b in self.width_groups], 2)):
            G = len(bands)
            m = layer(hg).reshape(B, S, G, N, C, 2, w)  # from (B, S, G, N, 2 C w)
            out.append(m.permute(0, 1, 3, 4, 5, 2, 6).reshape(B, S, N, C, 2, G * w))
        return torch.cat(out, dim=-1).index_select(-1, self.bin_order)  # (B, S, N, C, 2, F), bins in frequency order

    def _stack_per_band_state(self, state: dict, prefix: str, *args) -> None:
        """Load hook: a checkpoint saved when every band had modules of its own (``band_in.{k}``
        and ``masks.{s}.{k}``, ``nn.Sequential(LayerNorm, Linear[, Tanh, Linear, GLU])``) gets
        its tensors stacked into this layout, in place."""
        if prefix + "masks.0.0.0.weight" not in state:
            return
        old = {key[len(prefix):]: state.pop(key) for key in list(state)
               if key.startswith((prefix + "band_in.", prefix + "masks."))}
        S = len(self.sources)
        for name in ("weight", "bias"):
            for layer in ("0", "1"):  # LayerNorm, Linear
                state[f"{prefix}mask_hidden.{layer}.{name}"] = torch.stack(
                    [torch.stack([old[f"masks.{s}.{k}.{layer}.{name}"] for k in range(len(self.band_widths))]) for s in range(S)]
                )
            for g, (_, bands) in enumerate(self.width_groups):
                for layer in ("0", "1"):
                    state[f"{prefix}band_in.{g}.{layer}.{name}"] = torch.stack([old[f"band_in.{k}.{layer}.{name}"] for k in bands])
                state[f"{prefix}mask_out.{g}.0.{name}"] = torch.stack(
                    [torch.stack([old[f"masks.{s}.{k}.3.{name}"] for k in bands]) for s in range(S)]
                )

    def parameter_count(self) -> int:
        """Number of trainable parameters.

        Example:
            >>> BandSplitRNN(se=True).parameter_count() - BandSplitRNN(se=False).parameter_count()
            25536
        """
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @property
    def period(self) -> int:
        """``hop_length``: the frame grid. (The BLSTMs see the whole input, so no shift leaves
        the output unchanged; a shift by the hop at least keeps the frames' sampling grid.)"""
        return self.stft.hop_length

    def output_length(self, n: int) -> int:
        """``n``: the STFT pair reconstructs every length exactly.

        Example:
            >>> net = BandSplitRNN(sample_rate=8000, n_fft=256, hop_length=64, band_edges=(0, 2000, 4000),
            ...                    features=4, hidden=4, layers=1, mlp_hidden=4)
            >>> net.output_length(777) == net(torch.zeros(1, 2, 777)).shape[-1] == 777
            True
        """
        if n < 1:
            raise ValueError(f"BandSplitRNN: the input needs at least 1 sample, got {n}")
        return n

    def valid_length(self, n: int) -> int:
        """``n``: every length is valid (the STFT pads internally)."""
        return max(n, 1)


def consistent_masks(mask: torch.Tensor) -> torch.Tensor:
    """``(B, S, C, F, N, 2)`` complex masks as (re, im) -> the same with ``sum_j M_j = 1``: mask
    ``j`` gets the share ``|M_j|^2 / sum_k |M_k|^2`` of the remainder ``1 - sum_k M_k``.

    Example:
        >>> m = torch.tensor([[0.5, 0.0], [0.0, 0.0]]).reshape(1, 2, 1, 1, 1, 2)  # 0.5 and 0
        >>> consistent_masks(m).flatten().tolist()  # all of the remainder to the one that sounds
        [1.0, 0.0, 0.0, 0.0]
    """
    mask = mask.float()
    power = mask.square().sum(-1, keepdim=True)  # (B, S, C, F, N, 1)
    share = power / power.sum(1, keepdim=True).clamp_min(1e-8)
    rest = -mask.sum(1, keepdim=True)
    rest[..., 0] += 1  # 1 - sum_k M_k
    return mask + share * rest


def band_widths(edges: tuple[float, ...], sample_rate: int, n_fft: int) -> tuple[int, ...]:
    """Bins per band for a band plan in Hz; they add up to ``n_fft // 2 + 1``.

    Raises:
        ValueError: the plan does not cover 0 Hz .. Nyquist, its bands overlap, or a band holds
            no STFT bin at this ``n_fft``.

    Example:
        >>> band_widths((0, 1000, 4000), 8000, 16)
        (2, 7)
        >>> band_widths((0, 3000, 2000, 4000), 8000, 16)
        Traceback (most recent call last):
        ...
        ValueError: BandSplitRNN: band_edges overlap: edge 2 (2000.0 Hz) is not above edge 1 (3000.0 Hz)
    """
    nyquist = sample_rate / 2
    if len(edges) < 2 or edges[0] != 0 or edges[-1] != nyquist:
        raise ValueError(
            f"BandSplitRNN: band_edges must cover the spectrum from 0 Hz to the Nyquist frequency "
            f"{nyquist} Hz, got {tuple(edges)}"
        )
    for k in range(1, len(edges)):
        if edges[k] <= edges[k - 1]:
            raise ValueError(
                f"BandSplitRNN: band_edges overlap: edge {k} ({float(edges[k])} Hz) is not above "
                f"edge {k - 1} ({float(edges[k - 1])} Hz)"
            )
    bins = [round(e * n_fft / sample_rate) for e in edges]
    bins[-1] = n_fft // 2 + 1  # the Nyquist bin joins the last band
    widths = tuple(b - a for a, b in zip(bins, bins[1:]))
    if min(widths) < 1:
        k = widths.index(min(widths))
        raise ValueError(
            f"BandSplitRNN: band {k} ({edges[k]}..{edges[k + 1]} Hz) holds no STFT bin at n_fft={n_fft} "
            f"(bins are {sample_rate / n_fft:.1f} Hz wide); widen it or raise n_fft"
        )
    return widths
