"""Week 1 exercise: length arithmetic of the Wave-U-Net, by hand.

Write `my_output_length(n, levels, down_kernel, up_kernel)` for a Wave-U-Net with 'valid'
convolutions and output kernel 1, without looking at `WaveUNet.output_length`. Run this file:
the check compares your function with the package on many inputs.
"""

from waveunet_lit.models import WaveUNet


def my_output_length(n: int, levels: int, down_kernel: int, up_kernel: int) -> int:
    raise NotImplementedError("your code here")


def check(fn=my_output_length) -> None:
    for levels, kd, ku in [(3, 5, 3), (6, 15, 5), (12, 15, 5)]:
        net = WaveUNet(levels=levels, features=1, down_kernel=kd, up_kernel=ku)
        for n in range(net.valid_length(1), net.valid_length(1) + 200, 13):
            assert fn(n, levels, kd, ku) == net.output_length(n), (n, levels, kd, ku)
    print("all lengths agree: well done")


if __name__ == "__main__":
    check()
