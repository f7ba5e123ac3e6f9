"""Checks for ``01_wave_u_net_by_the_numbers`` (course week 1): the Wave-U-Net's length arithmetic.

Example:
    >>> from waveunet_lit.models import WaveUNet
    >>> check_answer_samples(WaveUNet.from_preset("M4").valid_length(44100))
    'right: 176115 input samples (3.99 s at 44.1 kHz) for one second of output'
    >>> check_answer_samples(44100)
    Traceback (most recent call last):
    ...
    waveunet_lit.exercises.ExerciseError: 44100 samples are not enough: valid convolutions need context on both sides; ask m4.valid_length
"""

from ..models import WaveUNet
from . import expect

__all__ = ["CHECKS", "check_my_output_length", "check_answer_samples"]

# (levels, down_kernel, up_kernel): a small net, the paper's M4, and a deep one with short kernels
_CASES = ((3, 5, 3), (12, 15, 5), (6, 9, 7))


def check_my_output_length(fn) -> str:
    """``fn(n, levels, down_kernel, up_kernel)`` must equal ``WaveUNet.output_length(n)``."""
    for levels, kd, ku in _CASES:
        net = WaveUNet(levels=levels, features=1, down_kernel=kd, up_kernel=ku)
        first = net.valid_length(1)
        for n in range(first, first + 2 ** (levels + 1), 7):  # odd and even lengths at every level
            got, want = fn(n, levels, kd, ku), net.output_length(n)
            expect(got == want, f"for n={n}, levels={levels}, down_kernel={kd}, up_kernel={ku} you give {got}, "
                                f"the network gives {want}: each down level loses down_kernel - 1 then keeps "
                                f"ceil(n / 2); each up level makes 2n - 1 and loses up_kernel - 1")
    return "your lengths agree with WaveUNet.output_length on every case"


def check_answer_samples(answer) -> str:
    """M4's input length for one second of output at 44.1 kHz."""
    want = WaveUNet.from_preset("M4").valid_length(44100)
    expect(isinstance(answer, int), f"give a whole number of samples, not {type(answer).__name__}")
    expect(answer > 44100, f"{answer} samples are not enough: valid convolutions need context on both sides; ask m4.valid_length")
    expect(answer == want, f"{answer} is not it: m4.valid_length(44100) is the shortest input that gives 44100 output samples")
    return f"right: {want} input samples ({want / 44100:.2f} s at 44.1 kHz) for one second of output"


CHECKS = {"my_output_length": check_my_output_length, "answer_samples": check_answer_samples}
