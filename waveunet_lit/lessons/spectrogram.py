"""Notebook ``05_spectrograms_and_masks``: the overlap-add envelope, spectrogram pictures, and
time-frequency masks on the two-source toy of :mod:`waveunet_lit.lessons.toys`.

The STFT itself is :class:`waveunet_lit.models.STFT`, the front end every spectrogram model
uses; this module only draws it and builds the oracle masks the notebook listens to.
"""

import torch

from ..models.stft import STFT, WINDOWS, with_phase_of

__all__ = ["squared_window_sum", "plot_overlap_add", "plot_spectrogram", "oracle_masks", "apply_mask", "plot_masks"]


def squared_window_sum(n_fft: int, hop: int, window: str = "hann", frames: int = 8) -> torch.Tensor:
    """The overlap-added squared windows of ``frames`` frames: ``sum_j w(n - j hop)^2``.

    Overlap-add undoes the STFT where this sum is non-zero (NOLA); it is constant in the
    interior when the window and hop satisfy the "constant overlap-add" condition.

    Returns:
        ``((frames - 1) * hop + n_fft,)`` float64.

    Example:
        >>> env = squared_window_sum(8, 2, "hann", frames=10)  # hop = n_fft / 4
        >>> [round(v, 3) for v in env[8:12].tolist()]  # constant: 1.5
        [1.5, 1.5, 1.5, 1.5]
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {sorted(WINDOWS)}, got {window!r}")
    w2 = WINDOWS[window](n_fft).double() ** 2  # the periodic window STFT uses
    env = torch.zeros((frames - 1) * hop + n_fft, dtype=torch.float64)
    for j in range(frames):
        env[j * hop : j * hop + n_fft] += w2
    return env


def plot_overlap_add(n_fft: int = 256, hop: int = 64, window: str = "hann", ax=None):
    """Each frame's squared window (thin) and their sum (thick) over 10 frames.

    Prints the interior min/max ratio of the sum (1.0 = constant overlap-add). A pair that
    :class:`~waveunet_lit.models.STFT` refuses (the sum falls below 1% of its peak) is drawn
    from the window alone, with the refusal printed.
    """
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 2.6))
    try:
        STFT(n_fft, hop, window)
        verdict = "invertible"
    except ValueError as err:
        verdict = f"refused by STFT: {str(err).split(': ', 1)[1][:70]}..."
    frames = 10
    env = squared_window_sum(n_fft, hop, window, frames)
    w2 = WINDOWS[window](n_fft).double() ** 2
    for j in range(frames):
        ax.plot(range(j * hop, j * hop + n_fft), w2, lw=0.7, color="0.6")
    ax.plot(env, lw=2, color="C0", label="sum of squared windows")
    interior = env[n_fft : (frames - 1) * hop] if (frames - 1) * hop > n_fft else env
    ratio = (interior.min() / interior.max()).item()
    print(f"n_fft {n_fft}, hop {hop}, {window}: interior min/max = {ratio:.3f} ({verdict})")
    ax.set_xlabel("sample")
    ax.set_title(f"{window} window, n_fft {n_fft}, hop {hop} ({n_fft / hop:g} frames per window length)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def plot_spectrogram(spec: torch.Tensor, rate: int, hop: int, ax=None, title: str = "", floor_db: float = -80.0):
    """A ``(F, N)`` complex or magnitude spectrogram in dB (0 dB = its maximum)."""
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 2.6))
    mag = spec.abs().double()
    db = 20 * torch.log10(mag / mag.max().clamp_min(1e-12) + 1e-12).clamp_min(floor_db)
    F, N = mag.shape
    ax.imshow(db.numpy(), origin="lower", aspect="auto", cmap="magma",
              extent=(-0.5 * hop / rate, (N - 0.5) * hop / rate, 0, rate / 2))
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz")
    ax.set_title(title)
    return fig


def oracle_masks(source_specs: torch.Tensor, kind: str = "irm", eps: float = 1e-12) -> torch.Tensor:
    """Oracle masks from the true sources' spectrograms ``(S, F, N)`` -> ``(S, F, N)`` in [0, 1].

    * ``"binary"``: 1 where source ``j`` is the loudest, else 0 (the ideal binary mask);
    * ``"ratio"``: ``|S_j| / sum_k |S_k|``;
    * ``"irm"``: ``|S_j|^2 / sum_k |S_k|^2`` (the ideal ratio mask, "IRM2" of SiSEC).

    Every kind sums to 1 over the sources at each bin.

    Example:
        >>> specs = torch.tensor([[[3.0]], [[1.0]]])  # two sources, one bin
        >>> [[round(v, 3) for v in oracle_masks(specs, k)[:, 0, 0].tolist()] for k in ("binary", "ratio", "irm")]
        [[1.0, 0.0], [0.75, 0.25], [0.9, 0.1]]
    """
    mag = source_specs.abs()
    if kind == "binary":
        return (mag == mag.max(dim=0, keepdim=True).values).to(mag.dtype)
    if kind in ("ratio", "irm"):
        p = 1 if kind == "ratio" else 2
        return mag**p / (mag**p).sum(0, keepdim=True).clamp_min(eps)
    raise ValueError(f"kind must be 'binary', 'ratio' or 'irm', got {kind!r}")


def apply_mask(mask: torch.Tensor, mix_spec: torch.Tensor, stft: STFT, length: int, phase_of: torch.Tensor | None = None) -> torch.Tensor:
    """Waveforms from masks ``(S, F, N)`` applied to the mixture's spectrogram ``(F, N)``.

    With ``phase_of=None`` the masked bins keep the mixture's phase (what every mask model
    does); with ``phase_of`` = the true sources' spectrograms ``(S, F, N)`` they take the true
    phase instead (an oracle, to measure what the mixture phase costs).

    Returns:
        ``(S, length)``.
    """
    magnitude = mask * mix_spec.abs()  # (S, F, N)
    spec = with_phase_of(magnitude, mix_spec if phase_of is None else phase_of)  # (S, F, N)
    return stft.inverse(spec, length)  # (S, T)


def plot_masks(source_specs: torch.Tensor, rate: int, hop: int, source: int = 0, name: str = "voice"):
    """The mixture's spectrogram and the three oracle masks of one source, side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=True)
    plot_spectrogram(source_specs.sum(0), rate, hop, axes[0], "mixture (dB)")
    F, N = source_specs.shape[-2:]
    for ax, kind in zip(axes[1:], ("binary", "ratio", "irm")):
        m = oracle_masks(source_specs, kind)[source]
        ax.imshow(m.numpy(), origin="lower", aspect="auto", cmap="gray", vmin=0, vmax=1,
                  extent=(-0.5 * hop / rate, (N - 0.5) * hop / rate, 0, rate / 2))
        ax.set_title(f"{kind} mask of the {name}")
        ax.set_xlabel("seconds")
    fig.tight_layout()
    return fig
