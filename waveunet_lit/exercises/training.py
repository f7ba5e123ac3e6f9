"""Checks of notebook 10 (training with Lightning).

``overfit_one_batch(model, mix, sources, steps) -> list[float]``: the first debugging step of
any training run. A model that cannot drive the loss of one fixed batch towards zero has a bug
(wrong targets, a missing ``optimizer.step()``, gradients that are never zeroed ...).
"""

import copy
import math

import torch

from ..models.common import center_crop
from ..models.wave_u_net import WaveUNet
from . import call, expect

__all__ = ["CHECKS", "check_overfit_one_batch", "STEPS", "THRESHOLD", "one_batch"]

STEPS = 100  #: optimizer steps the student gets
THRESHOLD = 0.03  #: the loss must fall below this fraction of its starting value


def one_batch(model: WaveUNet, segment: int = 1024, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch for ``model``: 4 examples of a sine (source 0) plus a quiet square wave
    (source 1), ``(B, C, T_in)`` and ``(B, S, C, T_in)`` with ``T_in = valid_length(segment)``.

    Example:
        >>> net = WaveUNet(sources=("a", "b"), channels=1, sample_rate=8000, levels=3, features=8)
        >>> mix, sources = one_batch(net)
        >>> tuple(mix.shape), tuple(sources.shape), bool(torch.allclose(mix, sources.sum(1)))
        ((4, 1, 1267), (4, 2, 1, 1267), True)
    """
    g = torch.Generator().manual_seed(seed)
    n = model.valid_length(segment)
    t = torch.arange(n) / model.sample_rate
    rows = []
    for _ in range(4):
        f = 100 + 400 * torch.rand(2, generator=g)  # Hz
        sine = 0.5 * torch.sin(2 * math.pi * f[0] * t)
        square = 0.15 * torch.sign(torch.sin(2 * math.pi * f[1] * t))
        rows.append(torch.stack([sine, square])[:, None].expand(-1, model.channels, -1))  # (S, C, T)
    sources = torch.stack(rows)  # (B, S, C, T)
    return sources.sum(1), sources


def _mse(model, mix, sources) -> float:
    with torch.no_grad():
        est = model(mix)  # (B, S, C, T_out)
        return torch.nn.functional.mse_loss(est, center_crop(sources, est.shape[-1])).item()


def check_overfit_one_batch(overfit_one_batch) -> str:
    """Give ``overfit_one_batch`` a fresh tiny Wave-U-Net and one fixed batch; after
    :data:`STEPS` steps its loss on that batch must be below :data:`THRESHOLD` of the start."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is fastest, and immune to a busy machine
    try:
        return _check(overfit_one_batch)
    finally:
        torch.set_num_threads(threads)


def _check(overfit_one_batch) -> str:
    torch.manual_seed(0)
    model = WaveUNet(sources=("sine", "square"), channels=1, sample_rate=8000, levels=3, features=8,
                     output="direct", output_activation="identity")
    mix, sources = one_batch(model, segment=512)
    start = _mse(model, mix, sources)
    before = copy.deepcopy(model.state_dict())
    losses = call(overfit_one_batch, model, mix.clone(), sources.clone(), STEPS)
    losses = [float(x) for x in losses]
    expect(len(losses) == STEPS, f"return one loss per step: {STEPS} numbers, got {len(losses)}")
    expect(
        math.isclose(losses[0], start, rel_tol=1e-3),
        f"the first loss should be the MSE of the untrained model on the centre-cropped sources ({start:.4f}), "
        f"got {losses[0]:.4f}: compare model(mix) with center_crop(sources, T_out)",
    )
    changed = any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    expect(changed, "the model's weights did not change: call optimizer.step() after loss.backward()")
    end = _mse(model, mix, sources)
    expect(
        math.isfinite(end) and end < THRESHOLD * start,
        f"after {STEPS} steps the loss is {end:.4g}, {100 * end / start:.1f}% of its start {start:.4g}; it must be below "
        f"{100 * THRESHOLD:.0f}%. Zero the gradients every step and try Adam with lr=1e-2",
    )
    return f"the loss fell from {start:.4f} to {end:.5f} in {STEPS} steps: the training loop works"


CHECKS = {"overfit_one_batch": check_overfit_one_batch}
