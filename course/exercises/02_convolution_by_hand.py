"""Exercises of notebook 02: convolution by hand.

Write both functions with plain Python loops and integer arithmetic (no `F.conv1d`, no
`nn.Conv1d`), then run this file: `python course/exercises/02_convolution_by_hand.py`. The
checks compare with PyTorch on a seeded grid of settings.
"""


def conv1d_loop(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """What `F.conv1d(x[None], weight, bias, stride, padding, dilation)[0]` computes, with loops.

    Args:
        x: `(C_in, T)` tensor.
        weight: `(C_out, C_in, K)` tensor.
        bias: `(C_out,)` tensor or None.

    Returns:
        `(C_out, T_out)` tensor (or nested lists / an array of that shape).

    PyTorch *correlates*: `y[o, t] = bias[o] + sum over c, k of weight[o, c, k] * xp[c, t*stride + k*dilation]`,
    where `xp` is `x` with `padding` zeros on both sides.
    """
    raise NotImplementedError("your code here")


def stack_output_length(n, layers):
    """Output length of `nn.Conv1d` layers applied one after the other to `n` samples.

    Args:
        n: input samples.
        layers: list of `(kernel, stride, padding, dilation)` tuples, applied in order.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import convolution, report

    raise SystemExit(report(convolution.CHECKS, globals()))
