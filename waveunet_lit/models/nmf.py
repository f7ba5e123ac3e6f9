"""Supervised non-negative matrix factorisation (NMF): the classical baseline, kept honest.

Lee & Seung, "Algorithms for non-negative matrix factorization", NIPS 2000 (multiplicative
updates); Smaragdis, Raj & Shashanka, "Supervised and semi-supervised separation of sounds
from single-channel mixtures", ICA 2007 (supervised NMF); Fevotte, Bertin & Durrieu, Neural
Computation 2009 (Wiener-style masks from NMF models).

A magnitude spectrogram ``V (F, M)`` is approximated by ``W H`` with a dictionary of spectral
templates ``W (F, K)`` and their activations ``H (K, M)``, all non-negative.

1. **Learning (training stems only).** Each source ``s`` has its own dictionary ``W_s`` of
   ``components`` templates, learned from the magnitude spectrograms of that source's training
   stems by multiplicative updates of ``H`` and ``W_s`` (:meth:`NMF.fit_batch`, called once per
   training batch by :class:`waveunet_lit.nmf_system.NMFSeparator`: minibatch multiplicative
   updates, the dictionary carried from batch to batch, a fresh ``H`` for every batch).
2. **Separation (the mixture only).** The dictionaries are concatenated and *fixed*,
   ``W = [W_1 ... W_S]``; only the activations ``H = [H_1; ...; H_S]`` of the mixture are
   estimated. Each source's model ``W_s H_s`` gives a Wiener-style mask
   ``(W_s H_s)^p / sum_r (W_r H_r)^p`` (``p = mask_power``, 2: ratio of power estimates) that
   multiplies the complex mixture spectrogram; the iSTFT gives the waveform. The masks add up
   to one, so the estimates add up to the mixture.

``forward(mix)`` takes nothing but the mixture, and its activations start from a deterministic
value, so the references can never leak into a separation (a test replaces them with noise).

The divergence is stated by ``divergence``: ``"kl"`` (generalised Kullback-Leibler,
``sum V log(V / Λ) - V + Λ``, the usual choice for audio magnitudes) or ``"euclidean"``
(``sum (V - Λ)^2 / 2``). Updates (Lee & Seung), with ``Λ = W H``:

    KL:         H <- H * (W^T (V / Λ)) / (W^T 1)        W <- W * ((V / Λ) H^T) / (1 H^T)
    Euclidean:  H <- H * (W^T V) / (W^T Λ)               W <- W * (V H^T) / (Λ H^T)

after which every template is scaled to unit sum (the scale moves into ``H``).

Stereo: each channel is a separate spectrogram with its own activations (the frames of both
channels train the same dictionary). Output length: ``output_length(n) == n``.
"""

from collections.abc import Mapping

import torch
from torch import nn

from .common import check_mix, record_init
from .stft import STFT

__all__ = ["NMF", "update_activations", "update_dictionary", "beta_divergence"]

EPS = 1e-10


def update_activations(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, divergence: str) -> torch.Tensor:
    """One multiplicative update of ``H (..., K, M)`` for ``V (..., F, M) ~ W (F, K) @ H``.

    Example:
        >>> W = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> V = torch.tensor([[2.0], [3.0]])
        >>> H = torch.ones(2, 1)
        >>> for _ in range(50): H = update_activations(V, W, H, "kl")
        >>> torch.allclose(H, V)
        True
    """
    Lam = W @ H + EPS  # (..., F, M)
    if divergence == "kl":
        return H * (W.T @ (V / Lam)) / (W.sum(0)[:, None] + EPS)
    return H * (W.T @ V) / (W.T @ Lam + EPS)


def update_dictionary(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, divergence: str) -> torch.Tensor:
    """One multiplicative update of ``W (F, K)`` for ``V (F, M) ~ W @ H (K, M)``, then every
    template (column) scaled to unit sum.

    Example:
        >>> W = update_dictionary(torch.rand(5, 20), torch.rand(5, 3), torch.rand(3, 20), "kl")
        >>> W.shape, torch.allclose(W.sum(0), torch.ones(3))
        (torch.Size([5, 3]), True)
    """
    Lam = W @ H + EPS  # (F, M)
    if divergence == "kl":
        W = W * ((V / Lam) @ H.T) / (H.sum(1)[None, :] + EPS)
    else:
        W = W * (V @ H.T) / (Lam @ H.T + EPS)
    W = W.clamp_min(EPS)  # a template that lost all its mass stays usable
    return W / W.sum(0, keepdim=True)


def beta_divergence(V: torch.Tensor, Lam: torch.Tensor, divergence: str) -> torch.Tensor:
    """Mean divergence per bin between ``V`` and its model ``Lam`` (same shape), >= 0.

    Example:
        >>> V = torch.rand(4, 6)
        >>> beta_divergence(V, V, "kl").item() < 1e-6, beta_divergence(V, V + 1, "euclidean").item()
        (True, 0.5)
    """
    if divergence == "kl":
        return torch.mean(V * torch.log((V + EPS) / (Lam + EPS)) - V + Lam)
    return torch.mean((V - Lam) ** 2) / 2


class NMF(nn.Module):
    """Supervised NMF separator with the waveform model contract.

    Args:
        sources: source names, in output order; each gets its own dictionary.
        channels: audio channels C (each is separated on its own).
        sample_rate: the rate the model works at, in Hz.
        n_fft: STFT size (Hann window).
        hop_length: STFT hop.
        components: templates K per source.
        divergence: ``"kl"`` or ``"euclidean"``.
        iterations: multiplicative updates of the activations when separating a mixture.
        fit_iterations: alternating (activations, dictionary) updates per training batch.
        mask_power: ``p`` of the Wiener-style masks (2: power ratio, 1: magnitude ratio).
        seed: seed of the random initial dictionaries (the model is deterministic).

    Buffers (saved in checkpoints): ``dictionaries (S, F, K)`` and ``fitted (S,)``, True for a
    source once its dictionary has been trained on at least one batch of its stems.

    Shape:
        ``mix (B, C, T) -> estimates (B, S, C, T)``.

    Example:
        >>> nmf = NMF(sources=("a", "b"), channels=1, n_fft=64, hop_length=16, components=4)
        >>> stems = torch.rand(2, 2, 1, 800)  # (B, S, C, T): training stems
        >>> loss = nmf.fit_batch(stems)
        >>> est = nmf(stems.sum(1))
        >>> est.shape, torch.allclose(est.sum(1), stems.sum(1), atol=1e-5)
        (torch.Size([2, 2, 1, 800]), True)
    """

    def __init__(
        self,
        sources: tuple[str, ...] = ("vocals", "drums", "bass", "other"),
        channels: int = 2,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        hop_length: int = 256,
        components: int = 32,
        divergence: str = "kl",
        iterations: int = 100,
        fit_iterations: int = 20,
        mask_power: float = 2.0,
        seed: int = 0,
    ):
        super().__init__()
        self.init_args = record_init(locals())  # the config that rebuilds this object
        if len(sources) < 1 or len(set(sources)) != len(sources):
            raise ValueError(f"NMF: sources must be distinct names, at least one, got {tuple(sources)}")
        if divergence not in ("kl", "euclidean"):
            raise ValueError(f"NMF: divergence must be 'kl' or 'euclidean', got {divergence!r}")
        for name, value in (("channels", channels), ("components", components), ("iterations", iterations),
                            ("fit_iterations", fit_iterations)):
            if value < 1:
                raise ValueError(f"NMF: {name} must be >= 1, got {value}")
        if mask_power <= 0:
            raise ValueError(f"NMF: mask_power must be > 0, got {mask_power}")
        self.sources = tuple(sources)
        self.channels = channels
        self.sample_rate = sample_rate
        self.stft = STFT(n_fft, hop_length, "hann")  # raises for an n_fft/hop it cannot invert
        self.components = components
        self.divergence = divergence
        self.iterations = iterations
        self.fit_iterations = fit_iterations
        self.mask_power = mask_power
        generator = torch.Generator().manual_seed(seed)
        W = torch.rand(len(self.sources), self.stft.bins, components, generator=generator) + 0.1  # (S, F, K)
        self.register_buffer("dictionaries", W / W.sum(1, keepdim=True))
        self.register_buffer("fitted", torch.zeros(len(self.sources), dtype=torch.bool))

    @classmethod
    def from_dictionaries(
        cls, dictionaries: Mapping[str, torch.Tensor], sources: tuple[str, ...], **kwargs
    ) -> "NMF":
        """An NMF separating ``sources`` with learned dictionaries, e.g. a subset of those of a
        trained model (``trained.dictionary_map()``).

        Raises:
            ValueError: a source in ``sources`` has no dictionary, or a dictionary's shape is
                not ``(F, components)`` for the given ``n_fft`` and ``components``.

        Example:
            >>> nmf = NMF(sources=("vocals", "drums"), n_fft=64, hop_length=16, components=4)
            >>> _ = nmf.fit_batch(torch.rand(1, 2, 2, 400))
            >>> args = dict(n_fft=64, hop_length=16, components=4)
            >>> NMF.from_dictionaries(nmf.dictionary_map(), ("vocals",), **args).sources
            ('vocals',)
            >>> NMF.from_dictionaries(nmf.dictionary_map(), ("vocals", "piano"), **args)
            Traceback (most recent call last):
            ...
            ValueError: NMF: no dictionary for source(s) ['piano']: it can only separate ['drums', 'vocals']; train one on that source's stems first
        """
        missing = [s for s in sources if s not in dictionaries]
        if missing:
            raise ValueError(
                f"NMF: no dictionary for source(s) {missing}: it can only separate {sorted(dictionaries)}; "
                "train one on that source's stems first"
            )
        model = cls(sources=tuple(sources), **kwargs)
        for i, name in enumerate(model.sources):
            W = torch.as_tensor(dictionaries[name])
            if W.shape != model.dictionaries.shape[1:]:
                raise ValueError(
                    f"NMF: the dictionary of {name!r} has shape {tuple(W.shape)}, expected "
                    f"(F, components) = {tuple(model.dictionaries.shape[1:])}"
                )
            model.dictionaries[i] = W
            model.fitted[i] = True
        return model

    def dictionary_map(self) -> dict[str, torch.Tensor]:
        """The learned dictionaries by source name, ``{name: (F, K)}``."""
        return {name: self.dictionaries[i].clone() for i, name in enumerate(self.sources) if self.fitted[i]}

    def _magnitudes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Complex spectrogram of ``(..., C, T)`` in float32 and its magnitude."""
        spec = self.stft(x.float())  # (..., C, F, N)
        return spec, spec.abs()

    @torch.no_grad()
    def fit_batch(self, stems: torch.Tensor) -> float:
        """Update every source's dictionary from its training stems ``(B, S, C, T)``.

        Returns:
            the mean divergence per bin between the stems' magnitudes and their NMF models
            after the update (the training loss).
        """
        if stems.dim() != 4 or stems.shape[1:3] != (len(self.sources), self.channels):
            raise ValueError(
                f"NMF.fit_batch expects stems of shape (B, S={len(self.sources)}, C={self.channels}, T), "
                f"got {tuple(stems.shape)}"
            )
        with torch.autocast(stems.device.type, enabled=False):  # multiplicative updates need float32
            _, mag = self._magnitudes(stems)  # (B, S, C, F, N)
            losses = []
            for s in range(len(self.sources)):
                V = mag[:, s].transpose(0, -2).reshape(self.stft.bins, -1)  # (F, M): all frames of source s
                W = self.dictionaries[s]  # (F, K)
                H = self._initial_activations(V, self.components)  # (K, M)
                for _ in range(self.fit_iterations):
                    H = update_activations(V, W, H, self.divergence)
                    W = update_dictionary(V, W, H, self.divergence)
                self.dictionaries[s] = W
                self.fitted[s] = True
                losses.append(beta_divergence(V, W @ H, self.divergence))
        return torch.stack(losses).mean().item()

    @staticmethod
    def _initial_activations(V: torch.Tensor, K: int) -> torch.Tensor:
        """``(..., F, M) -> (..., K, M)``: every activation of frame m equals ``sum_f V[f, m] / K``,
        so that ``W H`` has the frame's energy (templates have unit sum). Deterministic."""
        return V.sum(-2, keepdim=True).expand(*V.shape[:-2], K, V.shape[-1]) / K + EPS

    def forward(self, mix: torch.Tensor) -> torch.Tensor:
        """Separate ``mix (B, C, T)`` into ``(B, S, C, T)`` with the fixed dictionaries."""
        check_mix(mix, self.channels, "NMF")
        if not bool(self.fitted.all()):
            untrained = [name for name, done in zip(self.sources, self.fitted.tolist()) if not done]
            raise ValueError(
                f"NMF: no learned dictionary for source(s) {untrained}: fit the model on training stems "
                "first (`lightning fit -c waveunet_lit/configs/nmf.yaml`)"
            )
        B, C, T = mix.shape
        S, Fb, K = self.dictionaries.shape
        with torch.autocast(mix.device.type, enabled=False):
            spec, V = self._magnitudes(mix)  # (B, C, F, N)
            N = V.shape[-1]
            W = self.dictionaries.permute(1, 0, 2).reshape(Fb, S * K)  # (F, S K): concatenated, fixed
            V = V.reshape(B * C, Fb, N)  # (B C, F, N)
            H = self._initial_activations(V, S * K)  # (B C, S K, N)
            for _ in range(self.iterations):
                H = update_activations(V, W, H, self.divergence)
            H = H.reshape(B * C, S, K, N)  # (B C, S, K, N)
            models = torch.einsum("sfk,bskn->bsfn", self.dictionaries, H) ** self.mask_power  # (B C, S, F, N)
            # EPS / S in every numerator: the masks add up to exactly one, even in silence.
            masks = (models + EPS / S) / (models.sum(1, keepdim=True) + EPS)  # (B C, S, F, N)
            masks = masks.reshape(B, C, S, Fb, N).transpose(1, 2)  # (B, S, C, F, N)
            out = self.stft.inverse(masks * spec[:, None], T)  # (B, S, C, T)
        return out.to(mix.dtype)

    @property
    def period(self) -> int:
        """``hop_length``: every frame is separated on its own, so shifting the input by whole
        frames shifts the output alike (away from the borders)."""
        return self.stft.hop_length

    def output_length(self, n: int) -> int:
        """``n``: the STFT pair reconstructs every length exactly."""
        if n < 1:
            raise ValueError(f"NMF: the input needs at least 1 sample, got {n}")
        return n

    def valid_length(self, n: int) -> int:
        """``n``: every length is valid (the STFT pads internally)."""
        return max(n, 1)
