"""Solutions to the exercises of notebook 02."""

import torch


def conv1d_loop(x, weight, bias=None, stride=1, padding=0, dilation=1):
    C_in, T = x.shape
    C_out, _, K = weight.shape
    xp = torch.cat([x.new_zeros(C_in, padding), x, x.new_zeros(C_in, padding)], dim=1)  # (C_in, T + 2p)
    T_out = (T + 2 * padding - dilation * (K - 1) - 1) // stride + 1
    y = x.new_zeros(C_out, T_out)
    for o in range(C_out):
        for t in range(T_out):
            total = 0.0 if bias is None else float(bias[o])
            for c in range(C_in):
                for k in range(K):
                    total += float(weight[o, c, k]) * float(xp[c, t * stride + k * dilation])  # correlation: x[t + k]
            y[o, t] = total
    return y


def stack_output_length(n, layers):
    for kernel, stride, padding, dilation in layers:
        n = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    return n


if __name__ == "__main__":
    from waveunet_lit.exercises import convolution, report

    raise SystemExit(report(convolution.CHECKS, globals()))
