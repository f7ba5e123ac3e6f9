"""A fixed per-channel filter with a stride, down and up, as fast bfloat16 convolutions.

Resampling by a fixed lowpass (:class:`~waveunet_lit.models.port.SincResample`) is a
depthwise convolution: down, ``y[t] = sum_k h[k] x[s t + k]`` (a strided correlation); up,
its adjoint, ``y[s t + k] += h[k] x[t]`` (a transposed convolution: zero stuffing, then the
filter). oneDNN runs the first fast in bfloat16 but the second about 17 times slower
(``conv_transpose1d`` with ``groups`` = channels: 191 ms against 11 ms for a 4 x 64 x 54k
input on one core of the AVX512-BF16 machine of ``bench/port_vs_f90.py``). The transposed one
is the same as ``s`` ordinary filters at the *low* rate, one per output phase ``r``::

    y[s t + r] = sum_q h[s q + r] x[t - q]          (q = 0 .. ceil(K / s) - 1)

one depthwise convolution with ``s`` output channels per input channel, whose phases are then
interleaved (32 ms for the same input). :class:`FilterDown` and :class:`FilterUp` pair the two
fast forms with each other as forward and backward (each is the other's adjoint), so
training never calls the slow kernel.

Shapes: ``x`` ``(B, D, n)``, or ``(B, D, 1, n)`` as :class:`~waveunet_lit.models.port.PortWaveUNet`
holds its signals (in channels-last memory on the CPU; the output keeps the layout);
``h`` ``(K,)``; stride ``s``.

Example:
    >>> h = torch.tensor([1.0, 2.0, 3.0])
    >>> x = torch.tensor([[[1.0, 0.0, 0.0, 0.0, 1.0]]])
    >>> strided_filter(x, h, 2)  # t = 0: 1*1 + 2*0 + 3*0; t = 1: 1*0 + 2*0 + 3*1
    tensor([[[1., 3.]]])
    >>> stuffed_filter(torch.tensor([[[1.0, 10.0]]]), h, 2)  # h at 0, then 10 h at 2
    tensor([[[ 1.,  2., 13., 20., 30.]]])
"""

import torch
from torch.autograd import Function
from torch.nn import functional as F

from .channels_last import conv1d, is_channels_last

__all__ = ["FilterDown", "FilterUp", "strided_filter", "stuffed_filter"]


def strided_filter(x: torch.Tensor, h: torch.Tensor, stride: int) -> torch.Tensor:
    """``y[t] = sum_k h[k] x[stride t + k]`` per channel: ``(B, D, [1,] n) -> (B, D, [1,] (n - K) // stride + 1)``."""
    D = x.shape[1]
    return conv1d(x, h.to(x.dtype).expand(D, 1, -1), stride=stride, groups=D)


def stuffed_filter(x: torch.Tensor, h: torch.Tensor, stride: int) -> torch.Tensor:
    """``y[stride t + k] += h[k] x[t]`` per channel (``conv_transpose1d``), by polyphase filters.

    ``(B, D, [1,] n) -> (B, D, [1,] (n - 1) stride + K)``.
    """
    B, D, n = x.shape[0], x.shape[1], x.shape[-1]
    K, s = h.shape[0], stride
    Q = -(-K // s)  # taps per phase
    m = n + Q - 1  # samples of each phase
    phases = F.pad(h, (0, s * Q - K)).reshape(Q, s).t().flip(-1)  # (s, Q): [r, i] = h[s (Q - 1 - i) + r]
    w = phases.to(x.dtype).expand(D, s, Q).reshape(D * s, 1, Q)
    y = conv1d(F.pad(x, (Q - 1, Q - 1)), w, groups=D)  # (B, D s, [1,] m): channel d s + r is phase r of y[s t + r]
    if is_channels_last(x):  # interleave in channels-last memory: (B, 1, m, D s) -> (B, 1, m s, D)
        y = y.permute(0, 2, 3, 1).reshape(B, m, D, s).transpose(2, 3).reshape(B, 1, m * s, D).permute(0, 3, 1, 2)
    else:
        y = y.reshape(B, D, s, m).transpose(-1, -2).reshape(*x.shape[:-1], s * m)  # interleaved
    return y[..., : (n - 1) * s + K]


class FilterDown(Function):
    """:func:`strided_filter` whose backward is :func:`stuffed_filter` (``h`` gets no gradient)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, h: torch.Tensor, stride: int) -> torch.Tensor:
        ctx.save_for_backward(h)
        ctx.stride, ctx.n = stride, x.shape[-1]
        return strided_filter(x, h, stride)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (h,) = ctx.saved_tensors
        g = stuffed_filter(grad, h, ctx.stride)  # the input samples past the last window get 0
        return F.pad(g, (0, ctx.n - g.shape[-1])), None, None


class FilterUp(Function):
    """:func:`stuffed_filter` whose backward is :func:`strided_filter` (``h`` gets no gradient)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, h: torch.Tensor, stride: int) -> torch.Tensor:
        ctx.save_for_backward(h)
        ctx.stride = stride
        return stuffed_filter(x, h, stride)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (h,) = ctx.saved_tensors
        return strided_filter(grad, h, ctx.stride), None, None
