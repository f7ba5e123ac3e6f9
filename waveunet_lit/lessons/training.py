"""Helpers of notebooks 10-13: quiet Lightning runs, a short equal-budget training run, and
an SDR table.

The training itself is the package's: :class:`~waveunet_lit.system.Separator` (or
:class:`~waveunet_lit.nmf_system.NMFSeparator`), :class:`~waveunet_lit.data.MusdbDataModule`
and a Lightning ``Trainer``. What this module adds is the budget: every model of a comparison
trains for the same wall-clock time (or the same number of steps) on the same data, and is
scored on the same fixed test chunks, as ``bench/compare_variants.py`` does at full size.
"""

import functools
import logging
import time
import warnings
from datetime import timedelta

import lightning as L
import torch
from torch import nn

from ..data import MusdbDataModule
from ..metrics import new_sdr
from ..models.common import center_crop
from ..nmf_system import NMFSeparator
from ..system import Separator

__all__ = ["quiet_lightning", "train_briefly", "score_chunks", "sdr_table"]


def quiet_lightning() -> None:
    """Keep notebook outputs short and free of this machine's file names: Lightning's info
    lines (GPU available, model summary, silence-filter counts) are turned off, warnings print
    as ``Category: message`` without the file that raised them, and the warnings that a
    notebook triggers on purpose (a small data loader, resuming into a used folder, calling
    the CLI from Python) are dropped."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
    for message in (
        ".*does not have many workers.*", ".*LeafSpec.*", ".*treespec.*", ".*exists and is not empty.*",
        ".*LightningCLI's args parameter.*", ".*no `val_dataloader`.*", ".*cannot be pickled.*",
        ".*run with no optimizer.*",  # NMF learns by multiplicative updates
    ):
        warnings.filterwarnings("ignore", message=message)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def score_chunks(model: nn.Module, data: MusdbDataModule) -> tuple[dict[str, float], dict[str, float]]:
    """Mean "new SDR" per source of ``model`` on the data module's fixed test chunks, and of
    the mixture used as every estimate (the baseline to beat), in dB.

    Example:
        >>> import tempfile
        >>> from waveunet_lit.data import generate_toy_musdb
        >>> from waveunet_lit.models import WaveUNet
        >>> root = generate_toy_musdb(tempfile.mkdtemp(), 3, 1, seconds=2, sample_rate=8000)
        >>> net = WaveUNet(channels=1, sample_rate=8000, levels=2, features=4)
        >>> data = MusdbDataModule(str(root), segment=2048, batch_size=2, num_workers=0, valid_tracks=1)
        >>> sdr, base = score_chunks(net, data.configure_for(net))
        >>> sorted(sdr) == sorted(base) == ["bass", "drums", "other", "vocals"]
        True
    """
    if not hasattr(data, "test_set"):
        data.setup("test")
    device = next(iter([*model.parameters(), *model.buffers()])).device
    sdrs, base = [], []
    model.eval()
    with torch.inference_mode():
        for mix, sources in data.test_dataloader():
            mix, sources = mix.to(device), sources.to(device)  # (B, C, T_in), (B, S, C, T_in)
            est = model(mix)  # (B, S, C, T_out)
            target = center_crop(sources, est.shape[-1])  # (B, S, C, T_out)
            sdrs.append(new_sdr(est.float(), target.float()).cpu())  # (B, S)
            mixture = center_crop(mix, est.shape[-1])[:, None].expand_as(target)  # (B, S, C, T_out)
            base.append(new_sdr(mixture.float(), target.float()).cpu())
    names = tuple(model.sources)
    return (dict(zip(names, torch.cat(sdrs).mean(0).tolist())), dict(zip(names, torch.cat(base).mean(0).tolist())))


def train_briefly(
    model: nn.Module,
    root: str,
    seconds: float | None = None,
    steps: int | None = None,
    segment: int = 4096,
    batch_size: int = 8,
    lr: float = 1e-3,
    loss: nn.Module | None = None,
    seed: int = 0,
    name: str | None = None,
) -> dict:
    """Train ``model`` on the dataset at ``root`` for ``seconds`` of wall time or ``steps``
    optimizer steps (whichever ends first), then score it with :func:`score_chunks`.

    An NMF model is fitted by :class:`~waveunet_lit.nmf_system.NMFSeparator` (one dictionary
    update per batch); any other model trains with :class:`~waveunet_lit.system.Separator` and
    Adam at ``lr``. No validation, no checkpoints, no logger: a budget, not a recipe.

    Returns:
        ``{"name", "model", "parameters", "steps", "seconds", "sdr", "baseline"}``; ``sdr`` and
        ``baseline`` map each source to dB.

    Example:
        >>> import tempfile
        >>> from waveunet_lit.data import generate_toy_musdb
        >>> from waveunet_lit.models import WaveUNet
        >>> root = generate_toy_musdb(tempfile.mkdtemp(), 3, 1, seconds=2, sample_rate=8000)
        >>> run = train_briefly(WaveUNet(channels=1, sample_rate=8000, levels=2, features=4), str(root), steps=3, segment=1024)
        >>> run["steps"], sorted(run["sdr"])
        (3, ['bass', 'drums', 'other', 'vocals'])
    """
    if seconds is None and steps is None:
        raise ValueError("train_briefly needs a budget: seconds=... or steps=...")
    quiet_lightning()
    L.seed_everything(seed, verbose=False)
    system = (
        NMFSeparator(model, loss)
        if hasattr(model, "fit_batch")
        else Separator(model, loss, optimizer=functools.partial(torch.optim.Adam, lr=lr))
    )
    data = MusdbDataModule(
        root=str(root), segment=segment, batch_size=batch_size, num_workers=0, samples_per_epoch=10**6, valid_tracks=1
    )
    trainer = L.Trainer(
        max_time=timedelta(seconds=seconds) if seconds is not None else None,
        max_steps=steps if steps is not None else -1,
        max_epochs=-1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="auto",
        devices=1,
    )
    t0 = time.perf_counter()
    trainer.fit(system, datamodule=data)
    elapsed = time.perf_counter() - t0
    sdr, baseline = score_chunks(system.model, data)
    return {
        "name": name or type(model).__name__,
        "model": system.model.cpu().eval(),
        "parameters": sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if "dictionar" in n),
        "steps": trainer.global_step,
        "seconds": elapsed,
        "sdr": sdr,
        "baseline": baseline,
    }


def sdr_table(runs: list[dict]) -> str:
    """A Markdown table of :func:`train_briefly` results: parameters, steps, seconds, SDR per
    source, their mean and the mixture baseline's mean (dB).

    Example:
        >>> run = {"name": "toy", "parameters": 10, "steps": 3, "seconds": 1.0,
        ...        "sdr": {"vocals": 2.0, "other": 4.0}, "baseline": {"vocals": -1.0, "other": 1.0}}
        >>> print(sdr_table([run]).splitlines()[2])
        | toy | 10 | 3 | 1.0 | 2.0 | 4.0 | 3.0 | 0.0 |
    """
    sources = list(runs[0]["sdr"])
    head = ["model", "parameters", "steps", "seconds"] + [f"SDR {s}" for s in sources] + ["SDR mean", "mixture mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        sdr = [r["sdr"][s] for s in sources]
        cells = [r["name"], f"{r['parameters']:,}", str(r["steps"]), f"{r['seconds']:.1f}"]
        cells += [f"{v:.1f}" for v in sdr] + [f"{sum(sdr) / len(sdr):.1f}", f"{sum(r['baseline'].values()) / len(sources):.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
