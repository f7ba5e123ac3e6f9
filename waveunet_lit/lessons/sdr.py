"""Notebook ``07_sdr_from_scratch``: SI-SDR's picture, BSSEval v4 step by step, estimates with
the same SDR, and scorers (one right, three with bugs peers shipped) for the oracle exercise.

:func:`decompose` is BSSEval v4 for one frame written the slow, obvious way (a dense least
squares over delayed copies of the references), to read next to the formulas; the package's
:func:`waveunet_lit.bsseval.bss_eval_v4` computes the same numbers fast, and the notebook
prints both beside ``museval``.
"""

import math

import numpy as np
import torch

from ..bsseval import bss_eval_v4
from ..metrics import new_sdr

__all__ = [
    "decompose",
    "same_sdr_estimates",
    "plot_projection",
    "plot_decomposition",
    "plot_frames",
    "bsseval_scorer",
    "BUGGY_SCORERS",
]


def _delayed(x: np.ndarray, L: int) -> np.ndarray:
    """``(T,) -> (T + L - 1, L)``: column ``k`` is ``x`` delayed by ``k`` samples (zeros around)."""
    T = len(x)
    A = np.zeros((T + L - 1, L))
    for k in range(L):
        A[k : k + T, k] = x
    return A


def decompose(estimate: torch.Tensor, references: torch.Tensor, j: int, filter_length: int = 512) -> dict:
    """BSSEval v4 of the mono estimate of source ``j``, on one frame that is the whole signal.

    With ``A`` the matrix of ``filter_length`` delayed copies of every reference (full
    convolution, ``T + L - 1`` rows) and ``A_j`` those of reference ``j`` only, least squares
    gives the best filtered references ``P_all = A c_all`` and ``P_own = A_j c_own`` for the
    zero-padded estimate ``e``; then (Vincent et al. 2006, Eq. 5-8)::

        e = s_j + e_spat + e_interf + e_artif
        e_spat = P_own - s_j,  e_interf = P_all - P_own,  e_artif = e - P_all

    Args:
        estimate: ``(T,)`` the estimate of source ``j``.
        references: ``(S, T)`` the true sources (mono).
        j: which source ``estimate`` estimates.
        filter_length: taps ``L`` of the distortion filters (museval: 512).

    Returns:
        ``{"target", "e_spat", "e_interf", "e_artif"}`` (numpy ``(T + L - 1,)`` each) and
        ``{"SDR", "ISR", "SIR", "SAR"}`` in dB (floats).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> refs = torch.randn(2, 2000, generator=g, dtype=torch.float64)
        >>> parts = decompose(refs[0] + 0.1 * refs[1], refs, 0, filter_length=16)
        >>> round(parts["SIR"], 1), bool(parts["SAR"] > 100)  # pure bleed: interference only
        (20.0, True)
    """
    if references.dim() != 2 or estimate.shape != references.shape[1:]:
        raise ValueError(f"decompose expects estimate (T,) and references (S, T), got {tuple(estimate.shape)} and {tuple(references.shape)}")
    L = filter_length
    refs = references.double().numpy()
    e = np.concatenate([estimate.double().numpy(), np.zeros(L - 1)])  # (T + L - 1,)
    blocks = [_delayed(r, L) for r in refs]  # S x (T + L - 1, L)
    A_all, A_own = np.concatenate(blocks, axis=1), blocks[j]
    P_all = A_all @ np.linalg.lstsq(A_all, e, rcond=None)[0]
    P_own = A_own @ np.linalg.lstsq(A_own, e, rcond=None)[0]
    s = np.concatenate([refs[j], np.zeros(L - 1)])
    parts = {"target": s, "e_spat": P_own - s, "e_interf": P_all - P_own, "e_artif": e - P_all}

    def db(num, den):
        return 10 * math.log10(np.sum(num**2) / np.sum(den**2))

    parts.update({
        "SDR": db(s, parts["e_spat"] + parts["e_interf"] + parts["e_artif"]),
        "ISR": db(s, parts["e_spat"]),
        "SIR": db(s + parts["e_spat"], parts["e_interf"]),
        "SAR": db(s + parts["e_spat"] + parts["e_interf"], parts["e_artif"]),
    })
    return parts


def _lowpass(x: torch.Tensor, rate: int, cutoff: float) -> torch.Tensor:
    spec = torch.fft.rfft(x.double())
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / rate)
    return torch.fft.irfft(spec * (freqs <= cutoff), n=x.shape[-1]).to(x.dtype)


def same_sdr_estimates(references: torch.Tensor, rate: int, sdr: float = 8.0, seed: int = 0) -> dict:
    """Three estimates of source 0 whose error has the same energy, so the same SDR
    (``new_sdr``, the whole clip): with bleed of source 1, with added noise (artifacts), and
    with the target's highs above 300 Hz partly filtered away.

    Args:
        references: ``(2, T)`` target and the other source.
        rate: sample rate (for the 300 Hz cutoff).
        sdr: the SDR of all three, in dB.

    Returns:
        ``{"bleed", "artifacts", "filtered"}`` -> ``(T,)`` estimates.

    Raises:
        ValueError: the target has too little energy above 300 Hz for the filtered estimate.

    Example:
        >>> from waveunet_lit.lessons.toys import two_sources
        >>> refs = two_sources(seconds=1.0)
        >>> est = same_sdr_estimates(refs, 8000, sdr=8.0)
        >>> [round(new_sdr(e[None], refs[:1]).item(), 2) for e in est.values()]
        [8.0, 8.0, 8.0]
    """
    target, other = references[0].double(), references[1].double()
    budget = target.pow(2).sum() / 10 ** (sdr / 10)  # the error energy every estimate gets
    g = torch.Generator().manual_seed(seed)
    highs = target - _lowpass(target, rate, 300.0)
    if highs.pow(2).sum() < budget:
        raise ValueError(f"the target has too little energy above 300 Hz for an SDR of {sdr} dB by filtering; raise sdr")
    errors = {"bleed": other, "artifacts": torch.randn(target.shape, generator=g, dtype=torch.float64), "filtered": -highs}
    out = {name: target + err * torch.sqrt(budget / err.pow(2).sum()) for name, err in errors.items()}
    return {name: e.to(references.dtype) for name, e in out.items()}


def plot_projection(gain: float = 1.0, noise: float = 0.5, ax=None):
    """The geometry of SNR and SI-SDR in the plane of target ``s`` and an orthogonal noise ``n``:
    the estimate is ``e = gain * s + noise * n``; SI-SDR projects ``e`` on ``s``.

    Prints SNR and SI-SDR (dB, rounded to 0.01) and returns the figure.
    """
    import matplotlib.pyplot as plt

    s, e = np.array([1.0, 0.0]), np.array([gain, noise])
    proj = (e @ s) / (s @ s) * s
    snr = 10 * math.log10((s @ s) / max((e - s) @ (e - s), 1e-12))
    si = 10 * math.log10((proj @ proj) / max((e - proj) @ (e - proj), 1e-12))
    print(f"SNR = {snr:.2f} dB   SI-SDR = {si:.2f} dB")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3))
    for vec, start, label, color, lw in ((s, (0, 0), "target s", "C0", 6), (e, (0, 0), "estimate e", "C1", 2),
                                         (proj, (0, 0), "projection a s", "C2", 2), (e - proj, proj, "e - a s", "C3", 2),
                                         (e - s, s, "e - s (SNR's error)", "0.5", 2)):
        ax.annotate("", xy=np.add(start, vec), xytext=start, arrowprops=dict(arrowstyle="->", color=color, lw=lw))
        ax.plot([], [], color=color, label=label, lw=lw)
    ax.set_xlim(-0.1, max(2.1, gain + 0.1))
    ax.set_ylim(-0.1, max(1.1, noise + 0.1))
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"gain {gain:.2f}, noise {noise:.2f}")
    fig.tight_layout()
    return fig


def plot_decomposition(parts: dict, rate: int, ax=None):
    """Waveforms of the target and the three error terms of :func:`decompose`."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(8, 4.5), sharex=True, sharey=True)
    t = np.arange(len(parts["target"])) / rate
    for ax, name in zip(axes, ("target", "e_spat", "e_interf", "e_artif")):
        ax.plot(t, parts[name], lw=0.5)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    return fig


def plot_frames(scores: dict, names: tuple[str, ...], ax=None):
    """Per-frame SDR/ISR/SIR/SAR of each source (``bss_eval_v4`` output, ``(S, N)`` each); NaN
    frames are gaps, marked with a grey band."""
    import matplotlib.pyplot as plt

    S, N = scores["SDR"].shape
    fig, axes = plt.subplots(1, S, figsize=(4 * S, 2.8), sharey=True, squeeze=False)
    for s, ax in enumerate(axes[0]):
        for metric in ("SDR", "ISR", "SIR", "SAR"):
            ax.plot(np.arange(N), scores[metric][s].cpu().numpy().clip(-30, 60), "o-", label=metric, ms=3)
        for n in np.flatnonzero(torch.isnan(scores["SDR"][s]).cpu().numpy()):
            ax.axvspan(n - 0.5, n + 0.5, color="0.85")
        ax.set_title(names[s])
        ax.set_xlabel("frame (1 s)")
    axes[0][0].set_ylabel("dB (clipped to [-30, 60])")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# scorers for the oracle exercise: scorer(estimates (S, C, T), references (S, C, T)) -> (S,) dB


def bsseval_scorer(estimates: torch.Tensor, references: torch.Tensor, rate: int = 8000) -> torch.Tensor:
    """The median over 1 s frames of BSSEval v4 SDR, per source: ``(S, C, T) -> (S,)`` dB.

    Example:
        >>> from waveunet_lit.lessons.toys import two_sources
        >>> refs = two_sources(seconds=2.0)[:, None].double()  # (S, C, T)
        >>> bool((bsseval_scorer(refs, refs) > 100).all()), bool((bsseval_scorer(refs.flip(0), refs) < 0).all())
        (True, True)
    """
    scores = bss_eval_v4(estimates.double(), references.double(), rate=rate)["SDR"]  # (S, N)
    return torch.nanmedian(scores, dim=-1).values  # (S,)


def _against_first_estimate(estimates, references):
    # The 2021 starter-kit bug: every stem scored against one stem's estimate.
    return bsseval_scorer(estimates[[0] * len(estimates)], references)


def _references_twice(estimates, references):
    # The estimate is never read: a wrong variable passed on.
    return bsseval_scorer(references, references)


def _rescaled(estimates, references):
    # A "helpful" normalisation: every estimate is rescaled to its reference's energy first.
    scale = references.pow(2).sum((-2, -1), keepdim=True).sqrt() / estimates.pow(2).sum((-2, -1), keepdim=True).sqrt()
    return bsseval_scorer(estimates * scale, references)


#: Scorers with bugs peers shipped; each fails one of the oracle tests.
BUGGY_SCORERS = {
    "scores every stem against the first stem's estimate": _against_first_estimate,
    "scores the references against themselves": _references_twice,
    "rescales each estimate to its reference's energy": _rescaled,
}
