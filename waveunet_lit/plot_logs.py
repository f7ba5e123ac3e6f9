"""Training curves from a run's logs: ``waveunet plot-logs RUN_DIR``.

Reads the scalars that :class:`waveunet_lit.Separator` logs (``train/loss``, ``val/loss``,
``val/sdr`` and ``val/sdr_<source>``) from TensorBoard event files (the default logger) or a
``metrics.csv`` (Lightning's ``CSVLogger``), and draws two panels: the losses and the
validation SDR per source, against the training step.

``RUN_DIR`` may be one logged version (``runs/demo/lightning_logs/version_3``) or any folder
above it: the newest version found below it is drawn, and its path is printed.
"""

import csv
import math
from pathlib import Path

from .atomic import atomic_path

__all__ = ["find_log", "read_scalars", "plot_logs"]

EVENTS = "events.out.tfevents.*"


def find_log(run_dir: str | Path) -> Path:
    """The newest folder below ``run_dir`` (itself included) that holds TensorBoard event
    files or a ``metrics.csv``.

    Raises:
        FileNotFoundError: ``run_dir`` does not exist or holds no logs.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"run folder not found: {root}")
    logs = {p.parent for p in [*root.rglob(EVENTS), *root.rglob("metrics.csv")]}
    if not logs:
        raise FileNotFoundError(f"no training logs (TensorBoard events or metrics.csv) below {root}")
    return max(logs, key=lambda d: max(f.stat().st_mtime for f in d.iterdir() if f.is_file()))


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar logged in ``log_dir``: ``tag -> [(step, value), ...]`` sorted by step.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "metrics.csv").write_text("step,train/loss,val/sdr\\n0,1.5,\\n9,0.5,2.0\\n")
        >>> read_scalars(d)
        {'train/loss': [(0, 1.5), (9, 0.5)], 'val/sdr': [(9, 2.0)]}
    """
    log_dir = Path(log_dir)
    scalars: dict[str, list[tuple[int, float]]] = {}
    if list(log_dir.glob(EVENTS)):
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})  # 0: keep every point
        events.Reload()
        for tag in events.Tags()["scalars"]:
            scalars[tag] = [(e.step, e.value) for e in events.Scalars(tag)]
    elif (log_dir / "metrics.csv").is_file():
        with open(log_dir / "metrics.csv", newline="") as f:
            for row in csv.DictReader(f):
                step = int(float(row.get("step") or 0))
                for tag, value in row.items():
                    if tag not in ("step", "epoch") and value not in (None, ""):
                        scalars.setdefault(tag, []).append((step, float(value)))
    else:
        raise FileNotFoundError(f"no TensorBoard events or metrics.csv in {log_dir}")
    return {tag: sorted(points) for tag, points in sorted(scalars.items())}


def plot_logs(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw the losses and the validation SDR per source of the newest run below ``run_dir``.

    Args:
        run_dir: a run folder (see the module docstring).
        out: the PNG to write; default ``<log folder>/curves.png``.

    Returns:
        The path of the PNG.

    Raises:
        FileNotFoundError: no logs. ValueError: the logs hold no loss at all.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log_dir = find_log(run_dir)
    scalars = read_scalars(log_dir)
    losses = {t: v for t, v in scalars.items() if t.endswith("/loss") or t.endswith("/loss_epoch")}
    sdrs = {t: v for t, v in scalars.items() if t.startswith("val/sdr")}
    if not losses:
        raise ValueError(f"{log_dir}: no loss was logged (tags: {', '.join(scalars) or 'none'})")
    fig, (ax_loss, ax_sdr) = plt.subplots(1, 2, figsize=(11, 3.8))
    for tag, points in losses.items():
        steps, values = zip(*points)
        ax_loss.plot(steps, values, "-" if tag.startswith("train") else "o-", label=tag)
    if all(v > 0 for points in losses.values() for _, v in points):
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel="step", ylabel="loss", title="loss")
    ax_loss.legend()
    for tag, points in sdrs.items():
        steps, values = zip(*[(s, v) for s, v in points if math.isfinite(v)] or [(0, float("nan"))])
        ax_sdr.plot(steps, values, "o-", lw=2.5 if tag == "val/sdr" else 1.2, label=tag.removeprefix("val/"))
    ax_sdr.set(xlabel="step", ylabel="SDR (dB)", title="validation SDR (new SDR, fixed chunks)")
    if sdrs:
        ax_sdr.legend(fontsize=8)
    fig.suptitle(str(log_dir), fontsize=8)
    fig.tight_layout()
    out = Path(out) if out is not None else log_dir / "curves.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:  # a reader never sees half a PNG
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out
