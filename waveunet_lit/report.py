"""Tables and plots of BSSEval frames: three aggregations side by side.

Published MUSDB18 numbers are aggregated in different ways, and the ways differ by more than
1 dB on vocals (silent and near-silent frames have very low SDR), so we print all three:

* **SiSEC** (SiSEC 2018, museval's ``EvalStore``, most papers): median over the 1 s frames of
  each track, then median over tracks.
* **pooled** (the Wave-U-Net paper, Stoller et al. 2018, Table 2): all frames of all tracks
  in one pool; median, median absolute deviation (MAD), mean and standard deviation (SD,
  population, ``ddof=0``).
* **mean of means**: mean over frames of each track, then mean over tracks.

NaN frames (a silent reference or estimate in that second) are left out everywhere, as
museval's pandas aggregation does.

The frame table has museval's long format (``EvalStore.df``) plus a ``method`` column:
``method, track, target, metric, time, score``.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["frames_table", "aggregate", "pooled_stats", "format_table", "write_report", "box_plots", "COLUMNS"]

COLUMNS = ("method", "track", "target", "metric", "time", "score")


def frames_table(rows: list[dict]) -> pd.DataFrame:
    """The long frame table from row dicts (columns :data:`COLUMNS`)."""
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"score": float, "time": float})


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def pooled_stats(scores) -> dict:
    """The Wave-U-Net paper's statistics (Table 2) of one pool of frame scores.

    NaN and infinite frames are left out; ``mad`` is the median absolute deviation from the
    median (not scaled to a standard deviation) and ``sd`` the population standard deviation
    (``ddof=0``), as the paper computes them.

    Args:
        scores: frame scores in dB, any iterable of floats (all frames of all tracks).

    Returns:
        ``{"median", "mad", "mean", "sd", "frames"}``; the four statistics are None when no
        frame is finite (``frames`` is then 0).

    Example:
        >>> stats = pooled_stats([1.0, 2.0, float("nan"), 4.0, 13.0])
        >>> stats["median"], stats["mad"], stats["mean"], stats["frames"]
        (3.0, 1.5, 5.0, 4)
    """
    x = np.asarray(list(scores) if not isinstance(scores, np.ndarray) else scores, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return {"median": None, "mad": None, "mean": None, "sd": None, "frames": 0}
    med = float(np.median(x))
    return {"median": med, "mad": float(np.median(np.abs(x - med))), "mean": float(x.mean()), "sd": float(x.std()), "frames": int(len(x))}


def aggregate(frames: pd.DataFrame, methods: list[str], sources: tuple[str, ...]) -> dict:
    """Per-track medians and the three aggregations, over tracks that every method scored.

    Args:
        frames: the long frame table (:func:`frames_table`).
        methods: method names, in table order.
        sources: source names, in table order.

    Returns:
        The dict with ``"tracks"`` (``{track: {method: {source: median SDR}}}``),
        ``"median"`` (``{method: {source: SiSEC SDR}}``) and ``"aggregates"``, which holds
        ``"sisec"`` and ``"mean_of_means"`` (``{method: {source: {metric: v}}}``) and
        ``"pooled"`` (``{method: {source: {metric: {"median", "mad", "mean", "sd", "frames"}}}}``);
        None where nothing was scored.

    Example:
        >>> rows = [{"method": "m", "track": t, "target": "vocals", "metric": "SDR", "time": i, "score": v}
        ...         for t, vals in (("a", [1.0, 2.0, 9.0]), ("b", [4.0, 5.0, 6.0])) for i, v in enumerate(vals)]
        >>> agg = aggregate(frames_table(rows), ["m"], ("vocals",))["aggregates"]
        >>> agg["sisec"]["m"]["vocals"]["SDR"], agg["pooled"]["m"]["vocals"]["SDR"]["median"], agg["mean_of_means"]["m"]["vocals"]["SDR"]
        (3.5, 4.5, 4.5)
    """
    complete = frames.groupby("track")["method"].nunique()
    frames = frames[frames.track.isin(complete[complete == len(methods)].index)]
    per_track_median = frames.groupby(["method", "track", "target", "metric"])["score"].median()
    per_track_mean = frames.groupby(["method", "track", "target", "metric"])["score"].mean()
    sisec = per_track_median.groupby(["method", "target", "metric"]).median()
    mean_of_means = per_track_mean.groupby(["method", "target", "metric"]).mean()
    metrics = ("SDR", "ISR", "SIR", "SAR")

    groups = {key: g.score.to_numpy() for key, g in frames.groupby(["method", "target", "metric"])}
    empty = np.array([])
    out = {
        "tracks": {
            track: {m: {s: _nan_to_none(per_track_median.get((m, track, s, "SDR"), math.nan)) for s in sources} for m in methods}
            for track in sorted(frames.track.unique())
        },
        "median": {m: {s: _nan_to_none(sisec.get((m, s, "SDR"), math.nan)) for s in sources} for m in methods},
        "aggregates": {
            "sisec": {m: {s: {k: _nan_to_none(sisec.get((m, s, k), math.nan)) for k in metrics} for s in sources} for m in methods},
            "pooled": {m: {s: {k: pooled_stats(groups.get((m, s, k), empty)) for k in metrics} for s in sources} for m in methods},
            "mean_of_means": {
                m: {s: {k: _nan_to_none(mean_of_means.get((m, s, k), math.nan)) for k in metrics} for s in sources} for m in methods
            },
        },
    }
    return out


def _f(x: float | None, width: int) -> str:
    return f"{x:>{width}.2f}" if x is not None else f"{'-':>{width}}"


def format_table(result: dict) -> str:
    """Two SDR tables (dB): each method beside the mixture (SiSEC aggregation, with the gain
    over the mixture), then the three aggregations side by side; failed tracks at the end."""
    methods, median = result["methods"], result["median"]
    first = methods[0]
    extra = methods[2:]
    n_tracks = len(result["tracks"])
    lines = [f"{'source':<14}{first + ' SDR':>12}{'mixture SDR':>13}{'gain':>8}" + "".join(f"{m + ' SDR':>16}" for m in extra)]
    for s in result["sources"]:
        model, base = median[first][s], median["mixture"][s]
        gain = model - base if model is not None and base is not None else None
        lines.append(f"{s:<14}{_f(model, 12)}{_f(base, 13)}{_f(gain, 8)}" + "".join(_f(median[m][s], 16) for m in extra))
    lines.append(f"(BSSEval v4 SDR in dB: median over 1 s frames, then median over {n_tracks} tracks"
                 + ("; oracle-irm reads the true sources: an upper bound, not a method)" if extra else ")"))
    agg = result["aggregates"]
    lines += ["", "SDR (dB) three ways: SiSEC = median of per-track medians; pooled = all frames (Wave-U-Net paper);",
              "mean = mean of per-track means",
              f"{'source':<14}{'method':<12}{'SiSEC':>8}{'pooled med':>12}{'MAD':>7}{'mean':>8}{'SD':>7}{'mean':>8}"]
    for s in result["sources"]:
        for m in methods:
            p = agg["pooled"][m][s]["SDR"]
            lines.append(f"{s:<14}{m:<12}{_f(agg['sisec'][m][s]['SDR'], 8)}{_f(p['median'], 12)}{_f(p['mad'], 7)}"
                         f"{_f(p['mean'], 8)}{_f(p['sd'], 7)}{_f(agg['mean_of_means'][m][s]['SDR'], 8)}")
    if result.get("reused"):
        lines.append(f"({len(result['reused'])} track(s) read back from earlier results with the same settings)")
    for name, message in result["failed"].items():
        lines.append(f"FAILED {name}: {message}")
    return "\n".join(lines)


def box_plots(frames: pd.DataFrame, methods: list[str], sources: tuple[str, ...], folder: Path) -> list[Path]:
    """One PNG per source, ``folder/sdr_<source>.png``: a box per method over all SDR frames."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    sdr = frames[frames.metric == "SDR"]
    paths = []
    for s in sources:
        data = [sdr[(sdr.method == m) & (sdr.target == s)].score.dropna().to_numpy() for m in methods]
        fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(methods), 4))
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(methods) + 1), methods)
        ax.set_ylabel("SDR per 1 s frame (dB)")
        ax.set_title(f"{s}: BSSEval v4 SDR over {sdr[sdr.target == s].track.nunique()} tracks")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        paths.append(folder / f"sdr_{s}.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    return paths


def write_report(result: dict, frames: pd.DataFrame, out: Path) -> None:
    """Write ``frames.csv`` (every frame), ``summary.csv`` (every aggregate), ``results.json``
    and the box plots (``plots/sdr_<source>.png``) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    frames.to_csv(out / "frames.csv", index=False)
    rows = []
    agg = result["aggregates"]
    for m in result["methods"]:
        for s in result["sources"]:
            for k in ("SDR", "ISR", "SIR", "SAR"):
                rows.append({"method": m, "target": s, "metric": k, "aggregation": "sisec_median", "value": agg["sisec"][m][s][k]})
                for stat in ("median", "mad", "mean", "sd"):
                    rows.append({"method": m, "target": s, "metric": k, "aggregation": f"pooled_{stat}", "value": agg["pooled"][m][s][k][stat]})
                rows.append({"method": m, "target": s, "metric": k, "aggregation": "mean_of_track_means", "value": agg["mean_of_means"][m][s][k]})
    pd.DataFrame(rows).to_csv(out / "summary.csv", index=False)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    if len(frames):
        box_plots(frames, result["methods"], tuple(result["sources"]), out / "plots")
