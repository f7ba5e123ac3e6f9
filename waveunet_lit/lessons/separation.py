"""Figures of notebook 11 (separating a song): how :func:`waveunet_lit.separate.separate`
tiles a song, the cross-fade weights of overlap-add, and SDR frame by frame."""

import math

import matplotlib.pyplot as plt
import torch

from ..separate import _fade_window, tile_plan

__all__ = ["plot_tiles", "fade_weights", "plot_fade_weights", "plot_sdr_over_time"]


def plot_tiles(model, length: int, segment: int | None = None, overlap: float = 0.25, rate: int | None = None):
    """One row per tile of a song of ``length`` samples: the input a tile reads (light, with
    its context) and the output samples it keeps (dark), as :func:`separate` plans them.

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> fig = plot_tiles(WaveUNet(channels=1, sample_rate=8000, levels=3, features=4), 3000, segment=1001)
        >>> len(fig.axes[0].collections)  # input and kept output of 3 tiles
        6
    """
    plan = tile_plan(model, segment, overlap, length=length)
    hop, n_in, offset = plan["hop"], plan["n_in"], plan["offset"]
    keep = n_in if plan["overlap_add"] else hop
    tiles = max(math.ceil((length - keep) / hop) + 1, 1) if plan["overlap_add"] else max(math.ceil(length / hop), 1)
    rate = rate or model.sample_rate
    fig, ax = plt.subplots(figsize=(9, 0.35 * tiles + 1.2))
    for k in range(tiles):
        start = k * hop - (0 if plan["overlap_add"] else offset)  # first input sample of tile k
        ax.broken_barh([(start / rate, n_in / rate)], (k - 0.4, 0.8), color="tab:blue", alpha=0.25)
        ax.broken_barh([(k * hop / rate, keep / rate)], (k - 0.25, 0.5), color="tab:blue")
    ax.axvspan(0, length / rate, color="k", alpha=0.06)
    ax.axvline(0, color="k", lw=0.8)
    ax.axvline(length / rate, color="k", lw=0.8)
    ax.set_yticks(range(tiles), [f"tile {k}" for k in range(tiles)], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (grey: the song; light: input read, zeros outside the song; dark: output kept)")
    kind = "cross-faded overlap-add" if plan["overlap_add"] else "'valid' tiles, hop a multiple of the period"
    ax.set_title(f"{type(model).__name__}: {tiles} tiles of {n_in} input samples, hop {hop} ({kind})")
    fig.tight_layout()
    return fig


def fade_weights(model, length: int, segment: int | None = None, overlap: float = 0.25) -> torch.Tensor:
    """The weight of every tile at every sample of a song, for a model that overlap-adds:
    the trapezoid windows of :func:`separate` divided by their sum, ``(tiles, length)``. Every
    column adds up to one, so a constant signal passes unchanged.

    Example:
        >>> from waveunet_lit.models import WaveUNet
        >>> w = fade_weights(WaveUNet(channels=1, sample_rate=8000, levels=3, features=4, context=False), 5000, segment=1000)
        >>> w.shape[1], bool(torch.allclose(w.sum(0), torch.ones(5000)))
        (5000, True)
    """
    plan = tile_plan(model, segment, overlap)
    if not plan["overlap_add"]:
        raise ValueError(f"{type(model).__name__} tiles without overlap ('valid' model): no fade windows")
    n, hop = plan["n_in"], plan["hop"]
    tiles = max(math.ceil((length - n) / hop) + 1, 1)
    window = _fade_window(n, hop)  # (n,)
    w = torch.zeros(tiles, length)
    for k in range(tiles):
        a, b = k * hop, min(k * hop + n, length)
        w[k, a:b] = window[: b - a]
    return w / w.sum(0, keepdim=True)  # (tiles, length)


def plot_fade_weights(weights: torch.Tensor, rate: int):
    """Every tile's weight over time (from :func:`fade_weights`) and their sum.

    Example:
        >>> fig = plot_fade_weights(torch.full((2, 100), 0.5), 8000)
        >>> len(fig.axes[0].lines)
        3
    """
    t = torch.arange(weights.shape[1]) / rate
    fig, ax = plt.subplots(figsize=(9, 2.2))
    for k, w in enumerate(weights):
        ax.plot(t, w, lw=1)
    ax.plot(t, weights.sum(0), "k--", lw=1, label="sum of the weights")
    ax.set_xlabel("seconds")
    ax.set_ylim(-0.05, 1.1)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("cross-fade weights of the tiles (trapezoids, divided by their sum)")
    fig.tight_layout()
    return fig


def plot_sdr_over_time(sdr: torch.Tensor, sources: tuple[str, ...], frame_seconds: float, title: str = ""):
    """SDR of every frame (``(S, N)`` dB, NaN for silent frames), one line per source.

    Example:
        >>> fig = plot_sdr_over_time(torch.tensor([[1.0, float("nan"), 3.0]]), ("vocals",), 1.0)
        >>> len(fig.axes[0].lines)  # the source and the 0 dB line
        2
    """
    t = (torch.arange(sdr.shape[1]) + 0.5) * frame_seconds
    fig, ax = plt.subplots(figsize=(9, 2.6))
    for name, row in zip(sources, sdr):
        ax.plot(t, row, "o-", ms=3, lw=1, label=name)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("seconds")
    ax.set_ylabel("SDR (dB)")
    ax.legend(fontsize=8, ncol=len(sources))
    ax.set_title(title or f"SDR per {frame_seconds:g} s frame")
    fig.tight_layout()
    return fig
