"""Exercises of notebook 03: the matrix of a strided convolution, and one level's lengths.

Write both functions without calling `F.conv1d` or `F.conv_transpose1d`, then run this file:
`python course/exercises/03_down_and_up_sampling.py`.
"""


def conv_matrix(h, n, stride):
    """The matrix `W` (m rows, n columns) of `F.conv1d(x, h, stride=stride)` on `n` samples.

    Args:
        h: kernel, a `(k,)` tensor.
        n: input length.
        stride: step between outputs.

    Returns:
        `(m, n)` tensor with `W @ x == F.conv1d(x[None, None], h[None, None], stride=stride)[0, 0]`.
        The check then verifies that `W.T @ y` is `F.conv_transpose1d` of `y`.
    """
    raise NotImplementedError("your code here")


def level_lengths(n, kernel_size, stride, padding):
    """Lengths in one level of a `StridedWaveUNet` for an input of `n` samples.

    Returns:
        `(m, t, extra)`: `m` samples after the level's `Conv1d(kernel_size, stride, padding)`;
        `t` samples that its `ConvTranspose1d(kernel_size, stride, padding)` makes of `m`
        samples; and `extra = n - t`, the `output_padding` that `output_size=[n]` adds.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import report, sampling

    raise SystemExit(report(sampling.CHECKS, globals()))
