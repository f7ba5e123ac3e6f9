"""Figures of notebook 13 (spectrogram models and NMF): a band plan drawn on a spectrogram,
and an NMF model (dictionaries and activations)."""

import matplotlib.pyplot as plt
import torch

from ..models.stft import STFT

__all__ = ["plot_band_edges", "plot_nmf"]


def plot_band_edges(x: torch.Tensor, rate: int, edges: tuple[float, ...], n_fft: int = 1024, hop: int = 256, title: str = ""):
    """The log-magnitude spectrogram of ``x (T,)`` or ``(C, T)`` (channels averaged) with the
    band edges (Hz) as horizontal lines.

    Example:
        >>> fig = plot_band_edges(torch.randn(8000), 8000, (0, 1000, 4000), n_fft=256, hop=64)
        >>> len(fig.axes[0].lines)
        3
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    x = x.mean(0) if x.dim() == 2 else x  # (T,)
    spec = STFT(n_fft, hop)(x[None]).abs()[0]  # (F, N)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    extent = (0, x.shape[-1] / rate, 0, rate / 2)
    ax.imshow(20 * torch.log10(spec + 1e-5), origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=-80)
    for e in edges:
        ax.axhline(e, color="w", lw=0.6, alpha=0.8)
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz")
    ax.set_title(title or f"{len(edges) - 1} bands")
    fig.tight_layout()
    return fig


def plot_nmf(dictionaries: dict[str, torch.Tensor], rate: int, activations: torch.Tensor | None = None):
    """Each source's templates ``(F, K)`` as an image (frequency up), and optionally the
    activations ``(S K, N)`` of a mixture.

    Example:
        >>> fig = plot_nmf({"a": torch.rand(33, 4), "b": torch.rand(33, 4)}, 8000, torch.rand(8, 10))
        >>> len(fig.axes)
        3
    """
    n = len(dictionaries) + (activations is not None)
    fig, axes = plt.subplots(1, n, figsize=(2.2 * n + 2, 3), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * len(dictionaries) + ([3] if activations is not None else [])})
    for ax, (name, W) in zip(axes[0], dictionaries.items()):
        ax.imshow(torch.log10(W + 1e-6), origin="lower", aspect="auto", extent=(0, W.shape[1], 0, rate / 2), cmap="viridis")
        ax.set_title(f"{name}: W", fontsize=9)
        ax.set_xlabel("template")
    axes[0, 0].set_ylabel("Hz")
    if activations is not None:
        ax = axes[0, -1]
        ax.imshow(torch.log10(activations + 1e-6), origin="lower", aspect="auto", cmap="viridis")
        ax.set_title("activations H of the mixture (rows: templates, source by source)", fontsize=9)
        ax.set_xlabel("frame")
    fig.tight_layout()
    return fig
