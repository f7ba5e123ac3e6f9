"""Solutions of week 1, notebook 01 (same names as course/exercises/01_wave_u_net_by_the_numbers.py)."""

from waveunet_lit.models import WaveUNet


def my_output_length(n: int, levels: int, down_kernel: int, up_kernel: int) -> int:
    """Each down level loses ``down_kernel - 1`` samples, then decimation keeps ``ceil(n / 2)``;
    the bottleneck loses ``down_kernel - 1``; each up level makes ``2n - 1`` and loses ``up_kernel - 1``."""
    for _ in range(levels):
        n = n - (down_kernel - 1)
        n = (n + 1) // 2
    n = n - (down_kernel - 1)
    for _ in range(levels):
        n = 2 * n - 1 - (up_kernel - 1)
    return n


answer_samples = WaveUNet.from_preset("M4").valid_length(44100)
