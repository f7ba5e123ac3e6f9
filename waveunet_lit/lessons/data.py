"""Figures and clips of notebook 09 (data and augmentation): stems drawn one above the other,
one augmentation applied to one clip, and what the silence filter sees."""

import matplotlib.pyplot as plt
import numpy as np

from ..data.augment import Augmentation, apply_augmentations, input_length
from ..data.musdb_data import SilenceFilter

__all__ = ["plot_stems", "augment_clip", "plot_silence"]


def plot_stems(stems: dict[str, np.ndarray], rate: int, title: str = ""):
    """One row per stem (``{name: (C, T) or (T,)}``, channels averaged), shared time axis.

    Example:
        >>> fig = plot_stems({"a": np.zeros((2, 800)), "b": np.ones(800)}, 8000)
        >>> len(fig.axes)
        2
    """
    fig, axes = plt.subplots(len(stems), 1, figsize=(9, 1.3 * len(stems)), sharex=True, squeeze=False)
    for ax, (name, x) in zip(axes[:, 0], stems.items()):
        x = np.asarray(x, dtype=np.float32)
        x = x.mean(0) if x.ndim == 2 else x  # (T,)
        ax.plot(np.arange(x.shape[-1]) / rate, x, lw=0.5)
        ax.set_ylabel(name, rotation=0, ha="right")
        ax.set_ylim(-1, 1)
    axes[-1, 0].set_xlabel("seconds")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def augment_clip(augmentation: Augmentation, x: np.ndarray, rate: int, length: int, seed: int = 0) -> np.ndarray:
    """``augmentation`` applied to the start of ``x (C, T)`` as the dataset applies it: it reads
    ``augmentation.input_length(length)`` samples and returns exactly ``(C, length)``.

    Example:
        >>> from waveunet_lit.data import TimeShift
        >>> augment_clip(TimeShift(100, p=1.0), np.ones((2, 1000), np.float32), 8000, 800).shape
        (2, 800)
    """
    need = input_length([augmentation], length)
    if x.shape[-1] < need:
        raise ValueError(f"augment_clip: {type(augmentation).__name__} needs {need} samples for {length}, got {x.shape[-1]}")
    return apply_augmentations([augmentation], x[:, :need], rate, np.random.default_rng(seed), length)


def plot_silence(x: np.ndarray, rate: int, silence: SilenceFilter, chunk: int, title: str = ""):
    """RMS of every ``silence.window``-sample window of ``x (C, T)`` against ``min_rms``, and
    which ``chunk``-sample chunks the filter keeps (green) or drops (red).

    Example:
        >>> x = np.zeros((1, 8000), np.float32); x[:, :4000] = 0.1
        >>> fig = plot_silence(x, 8000, SilenceFilter(0.01, 0.5, 400), 2000)
        >>> len(fig.axes)
        1
    """
    C, T = x.shape
    n = T // silence.window
    windows = x[:, : n * silence.window].reshape(C, n, silence.window)  # (C, N, window)
    rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=(0, 2)))  # (N,)
    fig, ax = plt.subplots(figsize=(9, 2.2))
    ax.semilogy((np.arange(n) + 0.5) * silence.window / rate, rms + 1e-6, ".-", lw=0.8, label="window RMS")
    ax.axhline(silence.min_rms, color="k", ls="--", lw=0.8, label="min_rms")
    for start in range(0, T - chunk + 1, chunk):
        kept = silence.is_active(x[:, start : start + chunk])
        ax.axvspan(start / rate, (start + chunk) / rate, color="tab:green" if kept else "tab:red", alpha=0.15)
    ax.set_xlabel("seconds")
    ax.set_title(title or "silence filter: green chunks are kept, red ones dropped")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
