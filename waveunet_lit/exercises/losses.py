"""Checks for the exercises of ``06_losses``.

* ``neg_si_sdr_of(snr_db, gain)``: the value of the negative SI-SDR loss for the estimate
  ``gain * target + noise``, with noise orthogonal to the target at ``snr_db`` below it,
  compared with :class:`waveunet_lit.losses.NegSISDRLoss` on such signals.
* ``log_magnitude_l1(estimate, target)``: a loss of the student's own that keeps the package's
  loss contract: ``(B, S, C, T)`` inputs (``ValueError`` otherwise), a scalar, zero at
  ``estimate == target``, larger for a worse estimate, finite gradients that reach the
  estimate, also where the estimate is silent.
"""

import math

import torch

from ..losses import NegSISDRLoss
from . import ExerciseError, call, expect

__all__ = ["CHECKS", "check_neg_si_sdr_of", "check_log_magnitude_l1", "orthogonal_noise_estimate"]


def orthogonal_noise_estimate(target: torch.Tensor, snr_db: float, gain: float, seed: int = 0) -> torch.Tensor:
    """``gain * target + n`` with ``<n, target> = 0`` per signal and ``||n||^2 = ||target||^2 / 10^(snr/10)``."""
    g = torch.Generator().manual_seed(seed)
    n = torch.randn(target.shape, generator=g, dtype=target.dtype)
    dims = (-2, -1)
    n = n - (n * target).sum(dims, keepdim=True) / target.pow(2).sum(dims, keepdim=True) * target  # Gram-Schmidt
    n = n * torch.sqrt(target.pow(2).sum(dims, keepdim=True) / n.pow(2).sum(dims, keepdim=True) / 10 ** (snr_db / 10))
    return gain * target + n


def check_neg_si_sdr_of(fn) -> str:
    """``fn(snr_db, gain) -> float`` must equal the package's loss on such an estimate (0.01 dB)."""
    g = torch.Generator().manual_seed(1)
    target = torch.randn(1, 1, 2, 4000, generator=g, dtype=torch.float64)
    for snr_db, gain in ((20.0, 1.0), (10.0, 2.0), (0.0, 0.5), (-5.0, 3.0)):
        want = NegSISDRLoss()(orthogonal_noise_estimate(target, snr_db, gain), target).item()
        got = float(call(fn, snr_db, gain))
        if abs(got - want) < 0.01:
            continue
        expect(abs(got + want) > 0.01, f"neg_si_sdr_of({snr_db}, {gain}) = {got:.2f}: the sign is flipped (a loss is the "
               "negative SI-SDR: lower is better)")
        expect(abs(got + snr_db) > 0.01, f"neg_si_sdr_of({snr_db}, {gain}) = {got:.2f} ignores the gain: SI-SDR rescales "
               "the *target* to the projection a * target; with a = gain, how loud is a * target against the noise?")
        expect(False, f"neg_si_sdr_of({snr_db}, {gain}) = {got:.2f}, the package's loss gives {want:.2f} "
               "(the noise energy is fixed relative to the unscaled target)")
    return "neg_si_sdr_of agrees with NegSISDRLoss within 0.01 dB"


def check_log_magnitude_l1(fn) -> str:
    """The package's loss contract, on ``fn(estimate, target)``."""
    g = torch.Generator().manual_seed(2)
    target = torch.randn(2, 2, 1, 2048, generator=g)
    noise = torch.randn(target.shape, generator=g)
    value = call(fn, target.clone(), target.clone())
    expect(isinstance(value, torch.Tensor) and value.dim() == 0,
           f"the loss must return a scalar tensor (the mean), got {tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__}")
    expect(abs(value.item()) < 1e-5, f"loss(target, target) should be 0, got {value.item():.3g}")
    near = call(fn, target + 0.05 * noise, target).item()
    far = call(fn, target + 0.5 * noise, target).item()
    expect(0 < near < far, f"a worse estimate must cost more: loss {near:.4g} at 5% noise, {far:.4g} at 50% noise")
    quiet = call(fn, 0.5 * target, target).item()
    expect(quiet > 0, f"a quieter estimate (half the target) must cost more than a perfect one, got {quiet:.4g}: "
           "take the absolute difference, so errors of either sign count")
    for name, estimate in (("a noisy estimate", target + 0.1 * noise), ("a silent estimate", torch.zeros_like(target))):
        e = estimate.clone().requires_grad_(True)
        loss = call(fn, e, target)
        expect(loss.requires_grad, "no gradient reaches the estimate: compute the loss with torch operations only "
               "(no .detach(), .item() or numpy inside)")
        loss.backward()
        expect(e.grad is not None and bool(torch.isfinite(e.grad).all()),
               f"the gradient at {name} is NaN or inf: add a small eps inside the log (log(|X| + eps))")
        if name == "a noisy estimate":  # at a silent estimate |X| has no direction: a zero gradient is fine there
            expect(bool(e.grad.abs().sum() > 0), f"the gradient at {name} is zero everywhere")
    try:
        fn(target[0], target[0])
    except ValueError:
        pass
    except Exception as err:  # noqa: BLE001
        raise ExerciseError(f"a (S, C, T) input should raise ValueError (use waveunet_lit.losses.check_pair), got {type(err).__name__}") from err
    else:
        raise ExerciseError("a (S, C, T) input (no batch axis) should raise ValueError naming the expected (B, S, C, T): "
                            "call waveunet_lit.losses.check_pair(estimate, target, name) first")
    return "log_magnitude_l1 keeps the loss contract"


CHECKS = {"neg_si_sdr_of": check_neg_si_sdr_of, "log_magnitude_l1": check_log_magnitude_l1}
