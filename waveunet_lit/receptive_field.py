"""Receptive fields: computed by integer arithmetic, measured by a gradient probe.

The *receptive field* of a model is the number of input samples that can influence one output
sample: the span from the first to the last input sample it depends on, taken at the output
position where that span is largest (in a resampling U-Net it changes with the position of the
output sample relative to the resampling grid, with the model's ``period``).

Every U-Net variant computes its receptive field with integer arithmetic (its
``receptive_field()`` method, built on :func:`waveunet_lit.models.common.widest_span`), and the tests check that number against
:func:`measure_receptive_field`: a gradient probe in the spirit of DAC's ``__main__``, which
backpropagates from one output sample and looks at which input samples receive gradient.

We measure the *span* of the samples with non-zero gradient rather than their count: a dilated
branch legitimately skips samples inside its span (its taps are ``d`` apart), and a windowed-sinc
filter has exact zeros inside its support, yet the first and last sample still bound what the
output can see. :func:`gradient_support` gives the full mask when you want the count.
"""

import copy

import torch
from torch import nn

# Re-exported for older imports; the formula lives with the model (no import circle: models
# never import this module).
from .models.wave_u_net import waveunet_receptive_field

__all__ = ["gradient_support", "measure_receptive_field", "receptive_field", "waveunet_receptive_field"]


def _probe_copy(model: nn.Module) -> nn.Module:
    # float64 so that tiny but non-zero gradients do not underflow; eval() turns dropout off and
    # makes batch norm use its running statistics (a per-channel affine map, no mixing in time).
    return copy.deepcopy(model).double().eval()


def _random_inputs(trials: int, channels: int, n_in: int, gen: torch.Generator) -> torch.Tensor:
    # Scales 1, 10, 100, 1, ...: a large input overrides a ReLU's bias, so a unit that a small
    # input leaves closed opens for about half of the trials.
    scale = 10.0 ** (torch.arange(trials, dtype=torch.float64) % 3)[:, None, None]
    return (scale * torch.randn(trials, channels, n_in, generator=gen, dtype=torch.float64)).requires_grad_(True)


def gradient_support(model: nn.Module, n_in: int, index: int | None = None, trials: int = 8, seed: int = 0) -> torch.Tensor:
    """Which input samples receive gradient from output sample ``index`` (default: the centre).

    The gradient of a random combination of the sources and channels of output sample ``index``
    is taken with respect to ``trials`` random inputs of ``n_in`` samples (of different
    scales), and a sample counts
    when it receives gradient in any of them (one input can leave a ReLU path dead where
    another opens it; the model runs in eval mode, so the inputs do not interact). Random weights, not a
    plain sum: with a difference output the sources add up to the mixture, and a sum would only
    see the one sample that the mixture contributes.

    Returns:
        a bool tensor ``(n_in,)``.

    Example:
        >>> from waveunet_lit.models.wave_u_net import WaveUNet
        >>> net = WaveUNet(sources=("a", "b"), channels=1, levels=1, features=2, context=False)
        >>> hit = gradient_support(net, 64)
        >>> hit.shape, int(hit.sum()) <= waveunet_receptive_field(net)
        (torch.Size([64]), True)
    """
    probe = _probe_copy(model)
    channels = getattr(model, "channels", 1)
    gen = torch.Generator().manual_seed(seed)
    x = _random_inputs(trials, channels, n_in, gen)
    out = probe(x)  # (trials, S, C, T_out)
    j = out.shape[-1] // 2 if index is None else index
    weights = torch.randn(out.shape[1:3], generator=gen, dtype=torch.float64)  # (S, C)
    (grad,) = torch.autograd.grad((weights * out[:, :, :, j]).sum(), x)
    return grad.abs().sum(dim=(0, 1)) > 0  # (T_in,)


def measure_receptive_field(model: nn.Module, n_in: int, outputs: int = 1, trials: int = 8, seed: int = 0) -> int:
    """Measured receptive field: the widest gradient span over ``outputs`` central output samples.

    Args:
        model: any model of the :mod:`waveunet_lit.models` contract.
        n_in: input length; choose it accepted by the model and long enough that the probed
            outputs do not reach the zero padding at the borders.
        outputs: how many consecutive output samples around the centre to probe; pass the
            model's ``period`` to cover every position.
        trials: random inputs whose gradient supports are united (see :func:`gradient_support`).

    Example:
        >>> from waveunet_lit.models.wave_u_net import WaveUNet
        >>> net = WaveUNet(sources=("a", "b"), channels=1, levels=2, features=2)
        >>> measure_receptive_field(net, net.valid_length(40), outputs=4) == waveunet_receptive_field(net)
        True
    """
    probe = _probe_copy(model)
    channels = getattr(model, "channels", 1)
    gen = torch.Generator().manual_seed(seed)
    x = _random_inputs(trials, channels, n_in, gen)
    out = probe(x)  # (trials, S, C, T_out)
    weights = torch.randn(out.shape[1:3], generator=gen, dtype=torch.float64)  # (S, C), see gradient_support
    start = out.shape[-1] // 2 - outputs // 2
    best = 0
    for j in range(start, start + outputs):
        (grad,) = torch.autograd.grad((weights * out[:, :, :, j]).sum(), x, retain_graph=True)
        hit = torch.nonzero(grad.abs().sum(dim=(0, 1)) > 0).flatten()  # input samples with gradient
        if hit.numel():
            best = max(best, int(hit[-1] - hit[0]) + 1)
    return best


def receptive_field(model: nn.Module) -> int:
    """Computed receptive field of any model that has a formula (its ``receptive_field()``)."""
    if hasattr(model, "receptive_field"):
        return int(model.receptive_field())
    raise TypeError(f"no receptive-field formula for {type(model).__name__}")
