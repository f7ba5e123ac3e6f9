"""Notebook ``08_reading_sdr_tables``: example museval results and a picture of the three
aggregations.

:func:`write_example_results` writes a small results folder in exactly the format and layout
that ``museval`` and ``waveunet evaluate`` write (``<folder>/<method>/test/<track>.json``,
through ``museval.TrackStore``), with the features that make real vocal scores hard to
summarise: tracks of different lengths, near-silent seconds with very low SDR, and silent
seconds scored NaN. The scores are drawn at random (seeded), not measured: they exercise the
reading and aggregation code, and stand in for the real SiSEC 2018 files when those are absent.
"""

from pathlib import Path

import math

import numpy as np
import pandas as pd
import torch

from ..atomic import atomic_path
from ..report import pooled_stats

__all__ = ["write_example_results", "plot_aggregations", "quiet_second_example", "EXAMPLE_METHODS"]

#: method -> (typical SDR of a loud second in dB, spread across tracks) of the example results.
EXAMPLE_METHODS = {"mixture": (1.0, 1.5), "model": (5.0, 2.5), "oracle-irm": (9.0, 2.0)}


def write_example_results(
    folder: str | Path,
    tracks: int = 6,
    sources: tuple[str, ...] = ("vocals", "accompaniment"),
    seed: int = 0,
    min_seconds: int = 20,
    max_seconds: int = 40,
) -> Path:
    """Write generated BSSEval frames as museval JSON: ``folder/<method>/test/<track>.json``.

    Every method of :data:`EXAMPLE_METHODS` scores the same tracks. Per track, a random share
    of the vocal seconds is near-silent (SDR 15-40 dB below the track's level) and a few are
    silent (NaN for every metric, as museval scores a second with a silent reference).

    Args:
        folder: where to write (created).
        tracks: number of tracks.
        sources: the targets of every file.
        seed: seed of the random scores.
        min_seconds, max_seconds: range of the track lengths (1 s frames).

    Returns:
        ``folder``, as a ``Path``.

    Example:
        >>> import tempfile
        >>> from waveunet_lit.museval_json import read_museval_folder
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     frames = read_museval_folder(write_example_results(tmp, tracks=2))
        >>> sorted(frames.method.unique()), frames.track.nunique()
        (['mixture', 'model', 'oracle-irm'], 2)
    """
    import museval

    if tracks < 1 or not 1 <= min_seconds <= max_seconds:
        raise ValueError(f"need tracks >= 1 and 1 <= min_seconds <= max_seconds, got {tracks}, {min_seconds}, {max_seconds}")
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    for t in range(tracks):
        name = f"Example Artist {t} - Song {t}"
        n = int(rng.integers(min_seconds, max_seconds + 1))
        track_offset = rng.normal(0, 1)  # some songs are harder than others, for every method
        quiet = rng.random(n) < rng.uniform(0.05, 0.35)  # near-silent vocal seconds
        silent = rng.random(n) < 0.04  # silent seconds: NaN
        for method, (level, spread) in EXAMPLE_METHODS.items():
            store = museval.TrackStore(track_name=name, win=1, hop=1)
            track_level = level + spread * track_offset
            for source in sources:
                sdr = track_level + rng.normal(0, 2.0, n)
                if source == "vocals":
                    sdr[quiet] -= rng.uniform(15, 40, quiet.sum())
                else:
                    sdr += 5.0  # the accompaniment is the loud part of the mixture
                values = {"SDR": sdr, "SIR": sdr + 6 + rng.normal(0, 1, n), "SAR": sdr + 1 + rng.normal(0, 0.5, n),
                          "ISR": sdr + 4 + rng.normal(0, 1, n)}
                values = {k: np.where(silent, np.nan, v).tolist() for k, v in values.items()}
                store.add_target(target_name=source, values=values)
            path = folder / method / "test" / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                Path(tmp).write_text(store.json)
    return folder


def plot_aggregations(frames: pd.DataFrame, method: str = "model", target: str = "vocals", metric: str = "SDR", ax=None):
    """Histogram of every frame of one method and target, with the three aggregations marked.

    Prints the three numbers (rounded to 0.01 dB) and returns the figure.
    """
    import matplotlib.pyplot as plt

    sel = frames[(frames.method == method) & (frames.target == target) & (frames.metric == metric)]
    if sel.empty:
        raise ValueError(f"no {metric} frames for method {method!r} and target {target!r}")
    per_track = sel.groupby("track").score
    marks = {
        "SiSEC: median of track medians": per_track.median().median(),
        "pooled median (Wave-U-Net paper)": pooled_stats(sel.score.to_numpy())["median"],
        "mean of track means": per_track.mean().mean(),
    }
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 3))
    scores = sel.score.dropna().to_numpy()
    ax.hist(scores, bins=40, color="0.75")
    for (label, value), style in zip(marks.items(), ("-", "--", ":")):
        ax.axvline(value, color="k", linestyle=style, label=f"{label}: {value:.2f} dB")
        print(f"{label:<34} {value:6.2f} dB")
    ax.set_xlabel(f"{metric} per 1 s frame (dB)")
    ax.set_ylabel("frames")
    ax.set_title(f"{method}, {target}: {len(scores)} frames of {sel.track.nunique()} tracks ({sel.score.isna().sum()} NaN)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def quiet_second_example(rate: int = 8000, seconds: int = 3, quiet: int = 1, seed: int = 0):
    """A vocal that is near-silent (40 dB down) in second ``quiet`` and loud elsewhere, an
    accompaniment, and an estimate of each with the same, steady bleed of the other.

    Returns:
        ``(estimates, references)``, each ``(2, 1, seconds * rate)`` float64 (vocals,
        accompaniment): the input of :func:`waveunet_lit.bsseval.bss_eval_v4`.

    Example:
        >>> est, ref = quiet_second_example()
        >>> est.shape, ref.shape
        (torch.Size([2, 1, 24000]), torch.Size([2, 1, 24000]))
    """
    if not 0 <= quiet < seconds:
        raise ValueError(f"quiet must be a second in [0, {seconds}), got {quiet}")
    g = torch.Generator().manual_seed(seed)
    n = seconds * rate
    t = torch.arange(n, dtype=torch.float64) / rate
    vocal = 0.3 * torch.sin(2 * math.pi * 330 * t + 2 * torch.sin(2 * math.pi * 5 * t))  # a tone with vibrato
    level = torch.ones(n, dtype=torch.float64)
    level[quiet * rate : (quiet + 1) * rate] = 0.01  # -40 dB: the singer breathes
    vocal = vocal * level
    noise = torch.randn(n, generator=g, dtype=torch.float64)
    accompaniment = 0.2 * torch.nn.functional.avg_pool1d(noise[None, None], 8, 1, 4)[0, 0, :n]  # dull noise
    references = torch.stack([vocal, accompaniment])[:, None]  # (2, 1, T)
    estimates = torch.stack([vocal + 0.1 * accompaniment, accompaniment + 0.1 * vocal])[:, None]  # (2, 1, T)
    return estimates, references
