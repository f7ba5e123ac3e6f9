"""Checks of notebook 13 (spectrogram models and NMF).

``kl_activation_update(V, W, H) -> H``: one multiplicative update of the activations for the
generalised Kullback-Leibler divergence (Lee & Seung, 2000), the dictionary ``W`` fixed:

    H <- H * (W^T (V / (W H))) / (W^T 1)

It must agree with :func:`waveunet_lit.models.nmf.update_activations` and, repeated, never
increase the divergence.
"""

import torch

from ..models.nmf import beta_divergence, update_activations
from . import call, expect

__all__ = ["CHECKS", "check_kl_activation_update"]


def _problem(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    F, K, M = 24, 5, 30
    W = torch.rand(F, K, generator=g, dtype=torch.float64) + 0.05
    W = W * (0.5 + 2.5 * torch.rand(K, generator=g, dtype=torch.float64))  # templates of any scale: W^T 1 matters
    V = W @ (3 * torch.rand(K, M, generator=g, dtype=torch.float64)) + 0.05 * torch.rand(F, M, generator=g, dtype=torch.float64)
    H = torch.rand(K, M, generator=g, dtype=torch.float64) + 0.1
    return V, W, H


def check_kl_activation_update(kl_activation_update) -> str:
    """Compare one update with the package's, then check 25 updates never raise the divergence."""
    for seed in range(3):
        V, W, H = _problem(seed)
        new = call(kl_activation_update, V.clone(), W.clone(), H.clone())
        expect(isinstance(new, torch.Tensor) and new.shape == H.shape, f"return the new H, shape {tuple(H.shape)}")
        expect(bool((new >= 0).all()), "activations must stay non-negative: multiply H by a ratio of non-negative terms")
        want = update_activations(V, W, H, "kl")
        expect(
            torch.allclose(new.double(), want, rtol=1e-6, atol=1e-9),
            "one update differs from the package's KL update H * (W^T (V / WH)) / (W^T 1): check the ratio V / (W H) "
            "and the denominator (the column sums of W)",
        )
    V, W, H = _problem(3)
    divergences = [beta_divergence(V, W @ H, "kl").item()]
    for _ in range(25):
        H = call(kl_activation_update, V, W, H)
        divergences.append(beta_divergence(V, W @ H, "kl").item())
    rises = [k for k in range(25) if divergences[k + 1] > divergences[k] * (1 + 1e-9)]
    expect(not rises, f"the divergence rose at update(s) {rises}: a multiplicative KL update never increases it")
    return f"matches the package, and 25 updates lowered the divergence from {divergences[0]:.4f} to {divergences[-1]:.4f}"


CHECKS = {"kl_activation_update": check_kl_activation_update}
