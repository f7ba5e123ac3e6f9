"""Week 1, notebook 01: the Wave-U-Net's length arithmetic, by hand.

Fill in the two answers below, then run ``python -m waveunet_lit.course check week01``.
Do not look at ``WaveUNet.output_length`` before you have tried.
"""


def my_output_length(n: int, levels: int, down_kernel: int, up_kernel: int) -> int:
    """The output length of a Wave-U-Net with 'valid' convolutions for an input of ``n`` samples.

    A down level is a convolution of kernel ``down_kernel`` (no padding) followed by decimation
    (keep every other sample, starting with the first). Then the bottleneck convolution (kernel
    ``down_kernel``). An up level interpolates linearly between neighbours (``n`` samples become
    ``2n - 1``) and applies a convolution of kernel ``up_kernel``. The output convolution has
    kernel 1.
    """
    raise NotImplementedError("your code here")


#: How many input samples does M4 (``WaveUNet.from_preset("M4")``) need for one second of output
#: at 44100 Hz? A whole number.
answer_samples = None
