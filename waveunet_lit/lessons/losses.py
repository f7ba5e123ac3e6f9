"""Notebook ``06_losses``: the package's losses swept over simple distortions, their gradients,
and a small equal-budget training run per loss.

Every loss is the package's (:mod:`waveunet_lit.losses`), sized here for 8 kHz toys; the
distortions act on ``(B, S, C, T)`` targets.
"""

import math
import time

import torch

from .. import losses as L
from ..metrics import new_sdr
from ..models import WaveUNet
from .toys import SOURCES, two_sources

__all__ = ["toy_losses", "distort", "DISTORTIONS", "loss_curves", "plot_loss_curves", "gradients", "equal_budget"]


def toy_losses() -> dict:
    """The six losses of the notebook, with STFT sizes for 8 kHz audio (name -> module)."""
    return {
        "MSE": L.MSELoss(),
        "L1": L.L1Loss(),
        "MR-STFT": L.MultiResolutionSTFTLoss(fft_sizes=(512, 256, 128), hop_sizes=(128, 64, 32), win_lengths=(512, 256, 128)),
        "mag+phase L1": L.MagnitudePhaseL1Loss(n_fft=256, hop_length=64),
        "neg SDR": L.NegSDRLoss(),
        "neg SI-SDR": L.NegSISDRLoss(),
    }


#: distortion -> (parameter values of the sweep, axis label)
DISTORTIONS = {
    "gain": (torch.linspace(0.0, 2.0, 21).tolist(), "estimate = gain x target"),
    "shift": (list(range(0, 41, 2)), "time shift (samples)"),
    "noise": (list(range(40, -11, -5)), "SNR of added white noise (dB)"),
    "band": (list(range(0, 2001, 200)), "width of a removed band above 300 Hz (Hz)"),
}


def distort(target: torch.Tensor, kind: str, value: float, rate: int = 8000, seed: int = 0) -> torch.Tensor:
    """``target (B, S, C, T)`` changed by one distortion of :data:`DISTORTIONS`.

    Example:
        >>> t = torch.ones(1, 1, 1, 8)
        >>> distort(t, "gain", 0.5).flatten().tolist()[:2], distort(t, "shift", 0).equal(t)
        ([0.5, 0.5], True)
    """
    if kind == "gain":
        return value * target
    if kind == "shift":
        return torch.roll(target, int(value), dims=-1)
    if kind == "noise":
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn(target.shape, generator=g, dtype=target.dtype)
        scale = torch.sqrt(target.pow(2).sum() / noise.pow(2).sum() / 10 ** (value / 10))
        return target + scale * noise
    if kind == "band":
        spec = torch.fft.rfft(target, dim=-1)
        freqs = torch.fft.rfftfreq(target.shape[-1], 1 / rate)
        keep = ~((freqs >= 300) & (freqs < 300 + value))
        return torch.fft.irfft(spec * keep, n=target.shape[-1], dim=-1)
    raise ValueError(f"kind must be one of {sorted(DISTORTIONS)}, got {kind!r}")


def loss_curves(target: torch.Tensor, kind: str, losses: dict | None = None, rate: int = 8000) -> dict:
    """Each loss over the sweep of one distortion: ``{name: [value per parameter]}``."""
    losses = toy_losses() if losses is None else losses
    values, _ = DISTORTIONS[kind]
    with torch.no_grad():
        return {name: [loss(distort(target, kind, v, rate), target).item() for v in values] for name, loss in losses.items()}


def plot_loss_curves(target: torch.Tensor, kind: str = "gain", rate: int = 8000, ax=None, floor_db: float = -40.0):
    """Every loss against one distortion, each rescaled to [0, 1] over the sweep (their units
    differ: what matters is the shape). The dB losses (negative SDR and SI-SDR) are first
    clipped at ``floor_db``: below -40 dB an estimate is perfect to any ear, and the values
    near -100 dB that ``eps`` allows would otherwise squash every other point of the curve.
    Returns the figure."""
    import matplotlib.pyplot as plt

    curves = loss_curves(target, kind, rate=rate)
    values, label = DISTORTIONS[kind]
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3))
    for (name, ys), style in zip(curves.items(), ("-", "--", "-", "--", "-", "--")):
        ys = torch.tensor(ys)
        if name.startswith("neg"):
            ys = ys.clamp_min(floor_db)
        span = (ys.max() - ys.min()).clamp_min(1e-12)
        ax.plot(values, ((ys - ys.min()) / span).numpy(), style, marker=".", label=name)
    ax.set_xlabel(label)
    ax.set_ylabel(f"loss, rescaled to [0, 1]\n(dB losses clipped at {floor_db:g})", fontsize=8)
    ax.set_title(f"losses against {kind}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def gradients(estimate: torch.Tensor, target: torch.Tensor, losses: dict | None = None) -> dict:
    """The gradient of each loss with respect to ``estimate``: ``{name: (B, S, C, T)}``."""
    losses = toy_losses() if losses is None else losses
    out = {}
    for name, loss in losses.items():
        e = estimate.detach().clone().requires_grad_(True)
        loss(e, target).backward()
        out[name] = e.grad
    return out


def _batch(step: int, batch: int, length: int, rate: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Training batch ``step``: mix (B, 1, T) and sources (B, S, 1, T), random songs and offsets."""
    g = torch.Generator().manual_seed(seed * 100_003 + step)
    sources = []
    for b in range(batch):
        song = two_sources(rate=rate, seconds=2.0, seed=int(torch.randint(0, 10**6, (1,), generator=g)))
        start = int(torch.randint(0, song.shape[-1] - length + 1, (1,), generator=g))
        sources.append(song[:, start : start + length])
    sources = torch.stack(sources)[:, :, None]  # (B, S, 1, T)
    return sources.sum(1), sources  # (B, 1, T), (B, S, 1, T)


def equal_budget(names: tuple[str, ...] = ("MSE", "MR-STFT", "neg SI-SDR"), steps: int = 100, rate: int = 8000,
                 batch: int = 4, length: int = 2048, lr: float = 3e-3, seed: int = 0, test_seconds: float = 3.0) -> dict:
    """Train the same small Wave-U-Net (same initial weights, same batches) once per loss.

    The model is a 4-level, 8-feature Wave-U-Net with 'same' padding and the difference
    output (drums = mix - voice), on generated voice + drums mixes; Adam for ``steps`` steps.
    Every model separates the same held-out mix of ``test_seconds``.

    Returns:
        A dict with ``"test"`` (``(mix (T,), sources (S, T))``) and, for each loss name,
        ``{"estimates": (S, T), "sdr": (S,) new_sdr dB, "steps": int, "seconds": float}``.
    """
    toy = toy_losses()
    unknown = [n for n in names if n not in toy]
    if unknown:
        raise ValueError(f"unknown loss names {unknown}; choose from {sorted(toy)}")
    test = two_sources(rate=rate, seconds=test_seconds, seed=10**6 + seed)  # (S, T): no training song has this seed
    test_mix = test.sum(0)
    out = {"test": (test_mix, test)}
    for name in names:
        torch.manual_seed(seed)  # the same initial weights for every loss
        model = WaveUNet(sources=SOURCES, channels=1, sample_rate=rate, levels=4, features=8, context=False,
                         output_activation="identity")
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = toy[name]
        start = time.perf_counter()
        for step in range(steps):
            mix, sources = _batch(step, batch, length, rate, seed)
            loss = loss_fn(model(mix), sources)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            T = test_mix.shape[-1]
            pad = -T % 2**4  # 'same' padding still halves the length 4 times
            est = model(torch.nn.functional.pad(test_mix, (0, pad))[None, None])[0, :, 0, :T]  # (S, T)
        out[name] = {"estimates": est, "sdr": new_sdr(est[:, None], test[:, None]), "steps": steps, "seconds": seconds}
    return out
