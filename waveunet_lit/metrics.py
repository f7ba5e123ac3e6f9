"""Separation metrics, all called ``metric(estimate, target)`` on ``(..., C, T)`` tensors.

* ``new_sdr``: the "new SDR" (also called uSDR) of the Music Demixing Challenge 2021: one
  number per source and song, no framing, no distortion filter.
* ``si_sdr``: scale-invariant SDR (Le Roux et al., "SDR - half-baked or well done?", ICASSP
  2019): the target is first rescaled to best match the estimate.
* ``bss_eval_v4`` / ``bss_eval_v4_batch``: BSSEval v4 exactly as ``museval.evaluate`` computes
  it (the SiSEC / MUSDB18 numbers), in torch; see :mod:`waveunet_lit.bsseval`.
"""

import torch

from .bsseval import METRICS, bss_eval_v4, bss_eval_v4_batch

__all__ = ["new_sdr", "si_sdr", "bss_eval_v4", "bss_eval_v4_batch", "METRICS"]


def check_pair(estimate: torch.Tensor, target: torch.Tensor, name: str, four_d: bool = False) -> None:
    """Raise ``TypeError`` unless both are tensors, ``ValueError`` unless they have the same
    shape, ``(..., C, T)`` (or exactly ``(B, S, C, T)`` with ``four_d``), and are finite."""
    shape = "(B, S, C, T)" if four_d else "(..., C, T)"
    for what, x in (("estimate", estimate), ("target", target)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expects torch tensors {shape}, got a {type(x).__name__} as the {what}")
    if estimate.shape != target.shape or (estimate.dim() != 4 if four_d else estimate.dim() < 2):
        raise ValueError(
            f"{name} expects estimate and target of the same shape {shape}, "
            f"got {tuple(estimate.shape)} and {tuple(target.shape)}"
        )
    if not torch.isfinite(estimate).all():
        raise ValueError(f"{name}: the estimate contains NaN or inf")
    if not torch.isfinite(target).all():  # a NaN target would give a NaN score, silently
        raise ValueError(f"{name}: the target contains NaN or inf")


def new_sdr(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """MDX-2021 SDR: ``10 log10((sum target^2 + eps) / (sum (target - estimate)^2 + eps))``.

    The sums run over channels and time, so a ``(B, S, C, T)`` input gives ``(B, S)`` in dB.

    Example:
        >>> t = torch.ones(1, 1, 2, 100)
        >>> round(new_sdr(0.9 * t, t).item(), 3)  # error energy is 1% of the signal's
        20.0
    """
    check_pair(estimate, target, "new_sdr")
    num = torch.sum(target**2, dim=(-2, -1)) + eps
    den = torch.sum((target - estimate) ** 2, dim=(-2, -1)) + eps
    return 10 * torch.log10(num / den)


def si_sdr(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB, one number per ``(..., C, T)`` signal pair, over ``C`` and ``T``.

    With ``a = <estimate, target> / ||target||^2`` (the best scale of the target)::

        si_sdr = 10 log10((||a target||^2 + eps) / (||a target - estimate||^2 + eps))

    Rescaling the estimate by any ``k > 0`` leaves it unchanged (``a`` scales by ``k``); the mean
    is *not* removed (music is close to zero-mean; state it if you compare with speech papers,
    which remove it). A ``(B, S, C, T)`` input gives ``(B, S)``.

    Example:
        >>> t = torch.sin(torch.linspace(0, 100, 1000)).expand(1, 2, 1000)
        >>> round(si_sdr(3 * t, t).item()) > 70  # a rescaled target is a perfect estimate
        True
        >>> noise = torch.cos(torch.linspace(0, 300, 1000)).expand(1, 2, 1000)
        >>> round(si_sdr(t + 0.1 * noise, t).item(), 1)  # noise nearly orthogonal, 1% energy
        20.0
    """
    check_pair(estimate, target, "si_sdr")
    dims = (-2, -1)
    scale = torch.sum(estimate * target, dim=dims, keepdim=True) / (
        torch.sum(target**2, dim=dims, keepdim=True) + eps
    )
    projection = scale * target
    num = torch.sum(projection**2, dim=dims) + eps
    den = torch.sum((projection - estimate) ** 2, dim=dims) + eps
    return 10 * torch.log10(num / den)
