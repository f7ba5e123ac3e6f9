"""Checks for ``02_convolution_by_hand``: a convolution written as loops, and output lengths.

Both are checked against PyTorch itself (``F.conv1d`` and real ``nn.Conv1d`` stacks) on a seeded
grid of settings that adds one feature at a time (channels, bias, stride, padding, dilation),
so that a failure can say which feature the answer gets wrong.
"""

import random

import torch
from torch import nn
from torch.nn import functional as F

from . import call, expect

__all__ = ["CHECKS", "check_conv1d_loop", "check_stack_output_length", "conv_settings"]

# Stages of the grid: the feature each introduces, and what to say when it breaks the answer.
STAGES = (
    ("plain", "A plain correlation: y[o, t] = sum over c, k of w[o, c, k] * x[c, t + k]."),
    ("bias", "Add bias[o] to every sample of output channel o (when a bias is given)."),
    ("stride", "With stride s, output t starts at input sample t * s."),
    ("padding", "With padding p, pretend there are p zeros before and after x; output t starts at t * s - p."),
    ("dilation", "With dilation d, the taps are d samples apart: x[c, t * s - p + k * d]."),
    ("everything", "Every feature at once: y[o, t] = bias[o] + sum_{c,k} w[o, c, k] x[c, t*s - p + k*d]."),
)


def conv_settings(seed: int = 0, per_stage: int = 6) -> list[dict]:
    """A seeded grid of ``F.conv1d`` settings, ``per_stage`` per stage of :data:`STAGES`.

    Example:
        >>> grid = conv_settings()
        >>> len(grid), grid[0]["stage"], sorted(grid[-1])
        (36, 'plain', ['bias', 'c_in', 'c_out', 'dilation', 'kernel', 'n', 'padding', 'stage', 'stride'])
    """
    rng = random.Random(seed)
    grid = []
    for i, (stage, _) in enumerate(STAGES):
        for _ in range(per_stage):
            s = dict(stage=stage, c_in=rng.randint(1, 3), c_out=rng.randint(1, 3), kernel=rng.randint(2, 5), n=rng.randint(9, 20),
                     bias=i >= 1, stride=1, padding=0, dilation=1)
            if stage in ("stride", "everything"):
                s["stride"] = rng.randint(2, 3)
            if stage in ("padding", "everything"):
                s["padding"] = rng.randint(1, 2)
            if stage in ("dilation", "everything"):
                s["dilation"] = rng.randint(2, 3)
            grid.append(s)
    return grid


def check_conv1d_loop(fn) -> str:
    """``fn(x, weight, bias=None, stride=1, padding=0, dilation=1)`` equals ``F.conv1d`` for one
    signal: ``x (C_in, T)``, ``weight (C_out, C_in, K)``, ``bias (C_out,)`` -> ``(C_out, T_out)``."""
    gen = torch.Generator().manual_seed(0)
    hints = dict(STAGES)
    settings = conv_settings()
    for s in settings:
        x = torch.randn(s["c_in"], s["n"], generator=gen, dtype=torch.float64)
        w = torch.randn(s["c_out"], s["c_in"], s["kernel"], generator=gen, dtype=torch.float64)
        b = torch.randn(s["c_out"], generator=gen, dtype=torch.float64) if s["bias"] else None
        kw = dict(stride=s["stride"], padding=s["padding"], dilation=s["dilation"])
        want = F.conv1d(x[None], w, b, **kw)[0]  # (C_out, T_out)
        got = call(fn, x.clone(), w.clone(), b if b is None else b.clone(), **kw)
        where = (f"For C_in={s['c_in']}, C_out={s['c_out']}, K={s['kernel']}, T={s['n']}, bias={'yes' if s['bias'] else 'None'}, "
                 f"stride={s['stride']}, padding={s['padding']}, dilation={s['dilation']}: ")
        try:
            got = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            expect(False, where + f"return a tensor or array of shape (C_out, T_out), got {type(got).__name__}")
        expect(tuple(got.shape) == tuple(want.shape), where + f"the output should have shape {tuple(want.shape)}, "
               f"got {tuple(got.shape)}. T_out = floor((T + 2p - d (K - 1) - 1) / s) + 1. " + hints[s["stage"]])
        if torch.allclose(got, want, atol=1e-8):
            continue
        flipped = F.conv1d(x[None], w.flip(-1), b, **kw)[0]
        expect(not torch.allclose(got, flipped, atol=1e-8), where + "you computed a convolution (the kernel "
               "runs backwards over x). conv1d, like every deep-learning library, correlates: x[t + k] "
               "meets w[k], not x[t - k].")
        if b is not None:
            expect(not torch.allclose(got, want - b[:, None], atol=1e-8), where + "the bias is missing. " + hints["bias"])
        expect(False, where + f"largest difference from F.conv1d {float((got - want).abs().max()):.3g}. " + hints[s["stage"]])
    return f"right: conv1d_loop equals F.conv1d on all {len(settings)} settings"


def _stacks(seed: int = 1) -> list[list[tuple[int, int, int, int]]]:
    """Stacks of 1, then 2-4 layers ``(kernel, stride, padding, dilation)``: stride first,
    dilation later, so that a wrong term shows up in a stack that is easy to read."""
    rng = random.Random(seed)
    stacks = [[(5, 1, 0, 1)], [(4, 2, 0, 1)], [(4, 2, 1, 1)], [(3, 1, 0, 2)], [(5, 3, 2, 2)], [(3, 2, 1, 3)]]
    for _ in range(12):
        stacks.append([(rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 3)) for _ in range(rng.randint(2, 4))])
    return stacks


def _real_length(n: int, layers) -> int:
    """Output length of a real stack of ``nn.Conv1d`` over ``n`` samples (0: too short)."""
    net = nn.Sequential(*(nn.Conv1d(1, 1, k, s, p, d) for k, s, p, d in layers))
    try:
        with torch.no_grad():
            return net(torch.zeros(1, 1, n)).shape[-1]
    except RuntimeError:  # "input size ... is smaller than kernel size"
        return 0


# Plausible wrong one-layer formulas, each with the hint it deserves.
WRONG_LENGTHS = (
    (lambda n, k, s, p, d: (n + 2 * p - k) // s + 1, "You forgot the dilation: the kernel spans d (k - 1) + 1 samples."),
    (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s, "Off by one: the first output needs no stride step, so add 1."),
    (lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1, "Round down, not up: a last window that does not fit is dropped."),
    (lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1, "Padding p adds p zeros on each side: 2p in all."),
)


def check_stack_output_length(fn) -> str:
    """``fn(n, layers)``: the output length of ``nn.Conv1d`` layers ``(kernel, stride, padding,
    dilation)`` applied one after the other to ``n`` samples, checked on real stacks."""
    cases = [(n, layers, _real_length(n, layers)) for layers in _stacks() for n in (37, 64, 101)]
    cases = [c for c in cases if c[2] > 0]
    answers = [call(fn, n, [tuple(layer) for layer in layers]) for n, layers, _ in cases]
    for (n, layers, want), got in zip(cases, answers):
        if got == want:
            continue
        where = f"n={n}, layers (kernel, stride, padding, dilation) = {layers}: real Conv1d layers give {want}, you said {got}. "
        if len(layers) == 1:
            singles = [(c, a) for c, a in zip(cases, answers) if len(c[1]) == 1]
            for wrong, hint in WRONG_LENGTHS:  # the wrong formula that explains all one-layer answers
                expect(not all(a == wrong(c[0], *c[1][0]) for c, a in singles), where + hint)
            expect(False, where + "One layer: floor((n + 2p - d (k - 1) - 1) / s) + 1.")
        expect(False, where + "Apply the one-layer formula layer after layer: each output length is the next layer's input.")
    return f"right: your lengths agree with real Conv1d stacks in {len(cases)} cases"


CHECKS = {"conv1d_loop": check_conv1d_loop, "stack_output_length": check_stack_output_length}
