"""Checks for ``01_wave_u_net_by_the_numbers`` (and week 1 of the course).

The answers are checked against what real models do, not against a method of the package:
the receptive field of a bottleneck step is measured with the gradient probe, and input
lengths by running the model and counting its bottleneck steps.
"""

import torch

from ..lessons.by_the_numbers import BottleneckView
from ..models import WaveUNet
from ..receptive_field import measure_receptive_field
from . import call, expect

__all__ = ["CHECKS", "check_bottleneck_receptive_field", "check_input_for_bottleneck_steps"]

# (levels, down_kernel): small enough to probe in a blink, varied enough to pin a formula.
SETTINGS = ((3, 9), (1, 3), (2, 5), (4, 7), (5, 15))


def _net(levels: int, down_kernel: int) -> WaveUNet:
    # Widths do not change which samples are connected: 2 features keep the probe cheap.
    return WaveUNet(sources=("a", "b"), channels=1, levels=levels, features=2, down_kernel=down_kernel, up_kernel=3)


def _bottleneck_steps(net: WaveUNet, n: int) -> int:
    """Bottleneck steps of a real forward pass over ``n`` samples (0: the model refuses ``n``)."""
    try:
        with torch.no_grad():
            return BottleneckView(net)(torch.zeros(1, 1, n)).shape[-1]
    except ValueError:  # too short for the model's context
        return 0


def check_bottleneck_receptive_field(fn) -> str:
    """``fn(levels, down_kernel)``: input samples one bottleneck step of a Wave-U-Net sees."""
    for levels, kd in SETTINGS:
        net = _net(levels, kd)
        measured = measure_receptive_field(BottleneckView(net), net.valid_length(3 * 2**levels), trials=2)
        got = call(fn, levels, kd)
        expect(isinstance(got, int), f"return an int, got {type(got).__name__} for levels={levels}, down_kernel={kd}")
        if got == measured:
            continue
        setting = f"levels={levels}, down_kernel={kd}: the probe measured {measured} samples, you said {got}. "
        expect(got != 1 + (levels + 1) * (kd - 1), setting + "You added up the kernel widths, but every "
               "decimation below a layer doubles the spacing of its taps in input samples.")
        expect(got != 2**levels * (2 * kd - 1) - kd + 1, setting + "Undoing one decimation turns a span of "
               "r samples into 2r - 1 (the first and last kept sample stay where they are), not 2r.")
        expect(got != 2**levels * kd, setting + "The kernel of each down level counts too, not only the bottleneck's.")
        expect(False, setting + "Walk up from the bottleneck: start with its kernel, then per level undo the "
               "decimation and add the down convolution's kernel - 1.")
    m4 = call(fn, 12, 15)
    return f"right: one bottleneck step of M4 sees {m4} samples = {m4 / 22050:.1f} s at 22050 Hz"


def check_input_for_bottleneck_steps(fn) -> str:
    """``fn(steps, levels, down_kernel)``: fewest input samples that give ``steps`` bottleneck steps."""
    for levels, kd in SETTINGS:
        net = _net(levels, kd)
        for steps in (4, 7):
            n = call(fn, steps, levels, kd)
            expect(isinstance(n, int), f"return an int, got {type(n).__name__}")
            setting = f"steps={steps}, levels={levels}, down_kernel={kd}: "
            got = _bottleneck_steps(net, n)
            expect(got >= steps, setting + f"an input of {n} samples gives {got} bottleneck steps, not {steps}: "
                   "too short. The first step needs its whole receptive field, and each further one "
                   "2**levels more input samples.")
            expect(got <= steps, setting + f"an input of {n} samples gives {got} bottleneck steps, not {steps}: "
                   "longer than needed. Neighbouring bottleneck steps are 2**levels input samples apart.")
            fewer = _bottleneck_steps(net, n - 1)
            expect(fewer < steps, setting + f"{n - 1} samples already give {fewer} steps: your input is "
                   "longer than needed.")
    n = call(fn, 9, 12, 15)
    return f"right: M4's 9 bottleneck steps need {n} input samples = {n / 22050:.2f} s (the paper's 147443)"


CHECKS = {
    "bottleneck_receptive_field": check_bottleneck_receptive_field,
    "input_for_bottleneck_steps": check_input_for_bottleneck_steps,
}
