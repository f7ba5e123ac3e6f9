"""Exercises of notebook 01 and week 1: the Wave-U-Net's bottleneck, by hand.

Write both functions from the architecture alone (Table 1 of the paper; the notebook's
level-by-level shapes), then run this file: `python course/exercises/01_wave_u_net_by_the_numbers.py`.
The checks measure real models (a gradient probe, a forward pass), so no method of the package
gives the answer away.
"""


def bottleneck_receptive_field(levels: int, down_kernel: int) -> int:
    """How many input samples one bottleneck step of a Wave-U-Net with context sees.

    Each of the ``levels`` down blocks is a 'valid' convolution with ``down_kernel`` taps
    followed by decimation (keep every other sample); the bottleneck is one more convolution
    with ``down_kernel`` taps. Start at one bottleneck step and walk back to the input.
    For M4 (12 levels, kernel 15) the answer is 114675.
    """
    raise NotImplementedError("your code here")


def input_for_bottleneck_steps(steps: int, levels: int, down_kernel: int) -> int:
    """The fewest input samples for which the bottleneck has ``steps`` time steps.

    Hint: how far apart (in input samples) are two neighbouring bottleneck steps? For M4,
    9 steps need the paper's 147443 samples.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import by_the_numbers, report

    raise SystemExit(report(by_the_numbers.CHECKS, globals()))
