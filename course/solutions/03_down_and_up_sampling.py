"""Solutions to the exercises of notebook 03."""

import torch


def conv_matrix(h, n, stride):
    k = h.shape[-1]
    m = (n - k) // stride + 1
    W = torch.zeros(m, n, dtype=h.dtype)
    for o in range(m):
        W[o, o * stride : o * stride + k] = h  # output o reads x[o*s], ..., x[o*s + k - 1]: correlation
    return W


def level_lengths(n, kernel_size, stride, padding):
    m = (n + 2 * padding - kernel_size) // stride + 1
    t = (m - 1) * stride - 2 * padding + kernel_size
    return m, t, n - t


if __name__ == "__main__":
    from waveunet_lit.exercises import report, sampling

    raise SystemExit(report(sampling.CHECKS, globals()))
