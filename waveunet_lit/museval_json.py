"""Folders of museval JSON files -> the frame table of :mod:`waveunet_lit.report`, and the
published tables computed from it.

museval writes one JSON file per track and method (``museval.TrackStore``)::

    {"targets": [{"name": "vocals",
                  "frames": [{"time": 0.0, "duration": 1.0,
                              "metrics": {"SDR": 4.1, "SIR": 9.0, "SAR": 5.2, "ISR": 8.3}}, ...]},
                 ...]}

A folder of results has one sub-folder per method: ``<folder>/<method>/<subset>/<track>.json``.
That is the layout of ``waveunet evaluate --out`` and of the SiSEC 2018 submissions
(``sigsep-mus-2018/submissions/STL1/test/AM Contra - Heart Peripheral.json``). NaN scores
(a silent reference in that second) are kept as NaN; the aggregations leave them out.

Notebook ``08_reading_sdr_tables`` reproduces the Wave-U-Net paper's Table 2 (method STL1)
and the SiSEC 2018 average of STL2 with :func:`read_museval_folder` and :func:`summary`.
"""

import json
import math
from pathlib import Path

import pandas as pd

from .bsseval import METRICS
from .report import aggregate, frames_table

__all__ = ["read_track_json", "read_museval_folder", "summary", "sisec_average"]


def read_track_json(path: str | Path, method: str) -> pd.DataFrame:
    """The frames of one museval JSON file as a frame table (one row per frame and metric).

    Args:
        path: ``<track>.json``; the track name is the file name without ``.json``.
        method: the value of the ``method`` column.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not JSON in museval's format (the message names the file).

    Example:
        >>> import tempfile
        >>> text = ('{"targets": [{"name": "vocals", "frames": [{"time": 0.0, "duration": 1.0,'
        ...         ' "metrics": {"SDR": 3.5, "SIR": NaN, "SAR": 1.0, "ISR": 2.0}}]}]}')
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp) / "song.json"
        ...     _ = path.write_text(text)
        ...     table = read_track_json(path, "m")
        >>> table[table.metric == "SDR"][["track", "target", "time", "score"]].values.tolist()
        [['song', 'vocals', 0.0, 3.5]]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"museval JSON file not found: {path}")
    try:
        data = json.loads(path.read_text())  # museval writes NaN literals, which json reads
        rows = [
            {"method": method, "track": path.stem, "target": target["name"], "metric": metric,
             "time": float(frame["time"]), "score": _score(frame["metrics"].get(metric))}
            for target in data["targets"]
            for frame in target["frames"]
            for metric in METRICS
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"{path} is not a museval JSON file (expected {{'targets': [{{'name', 'frames': "
            f"[{{'time', 'metrics': {{'SDR', ...}}}}]}}]}}): {type(err).__name__}: {err}"
        ) from err
    return frames_table(rows)


def _score(value) -> float:
    return math.nan if value is None else float(value)


def read_museval_folder(folder: str | Path, methods: list[str] | None = None, subset: str = "test") -> pd.DataFrame:
    """Every ``<folder>/<method>/<subset>/*.json`` as one frame table.

    Args:
        folder: the results folder (``waveunet evaluate --out``, or ``submissions/`` of the
            SiSEC 2018 repository).
        methods: the method folders to read; default all that have a ``<subset>`` folder.
        subset: ``"test"`` or ``"train"``.

    Returns:
        The long frame table (``method, track, target, metric, time, score``).

    Raises:
        FileNotFoundError: ``folder`` or a requested method's ``<subset>`` folder is missing.
        ValueError: a method folder holds no JSON file, or a file is not museval JSON.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"results folder not found: {folder} (expected <folder>/<method>/{subset}/<track>.json)"
        )
    if methods is None:
        methods = sorted(p.name for p in folder.iterdir() if (p / subset).is_dir())
        if not methods:
            raise ValueError(f"no <method>/{subset}/ folders under {folder}")
    tables = []
    for method in methods:
        sub = folder / method / subset
        if not sub.is_dir():
            raise FileNotFoundError(f"method {method!r}: folder {sub} not found")
        files = sorted(sub.glob("*.json"))
        if not files:
            raise ValueError(f"method {method!r}: no .json files in {sub}")
        tables += [read_track_json(f, method) for f in files]
    return pd.concat(tables, ignore_index=True)


def summary(frames: pd.DataFrame, methods: list[str], sources: tuple[str, ...], metric: str = "SDR") -> pd.DataFrame:
    """One row per method and source: the three aggregations of ``metric`` side by side.

    Columns: ``method, target, sisec`` (median over tracks of per-track medians),
    ``median, mad, mean, sd, frames`` (all frames pooled, the Wave-U-Net paper's Table 2) and
    ``mean_of_means``. Computed by :func:`waveunet_lit.report.aggregate`, so only tracks that
    every method scored count; rows whose source a method did not score are left out.

    Example:
        >>> rows = [{"method": "m", "track": t, "target": "vocals", "metric": "SDR", "time": i, "score": v}
        ...         for t, vals in (("a", [1.0, 2.0, 9.0]), ("b", [4.0, 5.0, 6.0])) for i, v in enumerate(vals)]
        >>> summary(frames_table(rows), ["m"], ("vocals",))[["sisec", "median", "mad", "mean"]].values.tolist()
        [[3.5, 4.5, 2.0, 4.5]]
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    agg = aggregate(frames, list(methods), tuple(sources))["aggregates"]
    rows = []
    for m in methods:
        for s in sources:
            pooled = agg["pooled"][m][s][metric]
            if pooled["frames"] == 0:
                continue
            rows.append({"method": m, "target": s, "sisec": agg["sisec"][m][s][metric], **pooled,
                         "mean_of_means": agg["mean_of_means"][m][s][metric]})
    return pd.DataFrame(rows, columns=["method", "target", "sisec", "median", "mad", "mean", "sd", "frames", "mean_of_means"])


def sisec_average(table: pd.DataFrame, method: str, sources: tuple[str, ...] = ("vocals", "drums", "bass", "other")) -> float:
    """Mean over ``sources`` of a method's SiSEC medians (a :func:`summary` table): the single
    number the SiSEC 2018 overview quotes per method.

    Raises:
        ValueError: the table lacks one of the method's sources.

    Example:
        >>> t = pd.DataFrame({"method": ["m", "m"], "target": ["vocals", "drums"], "sisec": [3.0, 4.0]})
        >>> sisec_average(t, "m", ("vocals", "drums"))
        3.5
    """
    rows = table[table.method == method].set_index("target")
    missing = [s for s in sources if s not in rows.index]
    if missing:
        raise ValueError(f"method {method!r} has no scores for {missing} (it has {sorted(rows.index)})")
    return float(rows.loc[list(sources), "sisec"].mean())
