"""Test-set evaluation with museval's BSSEval v4, the numbers MUSDB18 papers report.

For every track of a MUSDB18-HQ-layout folder: separate the mixture, score the estimates with
``museval.eval_mus_track`` (1 s windows and hops, SDR/ISR/SIR/SAR per frame; JSON per track
in museval's format), and score the mixture itself as every source's estimate (the baseline
a model must beat). The summary is SiSEC's: median over frames per track, then median over
tracks, per source.
"""

import math
from pathlib import Path

import musdb
import museval
import numpy as np
import torch
from torch import nn

from .data.musdb_data import STEMS_OF, Track
from .separate import separate

__all__ = ["evaluate", "format_table"]


def _median_sdr(store: museval.TrackStore) -> dict[str, float]:
    """Median SDR over frames, per target, from a museval TrackStore."""
    df = store.df
    sdr = df[df.metric == "SDR"]
    return {t: float(np.nanmedian(g.score.values)) for t, g in sdr.groupby("target")}


def evaluate(
    model: nn.Module,
    root: str | Path,
    out_dir: str | Path | None = None,
    subset: str = "test",
    max_tracks: int | None = None,
    segment: int | None = None,
) -> dict:
    """Separate and score every track of ``root/<subset>``.

    Args:
        model: a separation model in eval mode.
        root: MUSDB18-HQ-layout folder.
        out_dir: where museval JSON goes (``out_dir/model/<subset>/<track>.json`` and
            ``out_dir/mixture/...`` for the baseline); None writes nothing.
        subset: ``"test"`` (or ``"train"``).
        max_tracks: score only the first tracks (quick looks).
        segment: tile size for :func:`waveunet_lit.separate.separate`.

    Returns:
        ``{"tracks": {track: {"model": {source: sdr}, "mixture": {...}}}, "median": {...},
        "failed": {track: message}}``; the medians are over tracks of per-track medians.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root not found: {root}")
    db = musdb.DB(root=str(root), is_wav=True, subsets=[subset])
    tracks = db.tracks[:max_tracks] if max_tracks else db.tracks
    if not tracks:
        raise ValueError(f"no tracks under {root / subset} (expected <track>/<stem>.wav folders)")
    results: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for mtrack in tracks:
        try:
            track = Track(mtrack.name, Path(mtrack.path).parent, ("mixture",) + tuple(dict.fromkeys(
                s for name in model.sources for s in STEMS_OF[name])))
            mix = torch.from_numpy(track.read("mixture", 0, track.length))  # (C, T)
            stems = separate(model, mix, track.rate, segment=segment).numpy()  # (S, C, T)
            estimates = {name: est.T for name, est in zip(model.sources, stems)}  # museval wants (T, C)
            baseline = {name: mix.numpy().T for name in model.sources}
            scores = {}
            for label, est in (("model", estimates), ("mixture", baseline)):
                where = str(Path(out_dir) / label) if out_dir is not None else None
                scores[label] = _median_sdr(museval.eval_mus_track(mtrack, est, output_dir=where))
            results[mtrack.name] = scores
        except Exception as err:  # noqa: BLE001 - one broken track must not stop the others
            failed[mtrack.name] = f"{type(err).__name__}: {err}"
    median = {
        label: {s: float(np.nanmedian([r[label].get(s, math.nan) for r in results.values()])) for s in model.sources}
        for label in ("model", "mixture")
    } if results else {}
    return {"tracks": results, "median": median, "failed": failed}


def format_table(result: dict) -> str:
    """The per-source SDR table: model, mixture baseline and their difference, in dB."""
    median = result["median"]
    lines = [f"{'source':<14}{'model SDR':>10}{'mixture SDR':>13}{'gain':>8}"]
    for source, sdr in median.get("model", {}).items():
        base = median["mixture"][source]
        lines.append(f"{source:<14}{sdr:>10.2f}{base:>13.2f}{sdr - base:>8.2f}")
    lines.append(f"(BSSEval v4 SDR in dB: median over 1 s frames, then median over {len(result['tracks'])} tracks)")
    for name, message in result["failed"].items():
        lines.append(f"FAILED {name}: {message}")
    return "\n".join(lines)
