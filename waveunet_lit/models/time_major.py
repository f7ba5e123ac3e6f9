"""Time-major activations for fast inference: the same ``(B, C, T)`` tensors, laid out in
memory as ``(B, T, C)``.

PyTorch stores a ``(B, C, T)`` tensor channel by channel: ``T`` samples of channel 0, then of
channel 1 ... On the CPU, oneDNN's convolution converts such a tensor to a blocked layout and
its output back again at every layer. A *time-major* tensor keeps the shape ``(B, C, T)`` but
stores all ``C`` channels of sample 0, then of sample 1 ... (strides ``(T * C, 1, C)``: the
"channels last" layout of images with height 1). oneDNN convolves that layout directly,
measured twice as fast on M4's layers. Every PyTorch operation accepts either layout and gives
the same numbers; only the speed differs.

Time-major also makes the Wave-U-Net's concatenation cheap: one time step of
``concat([skip, upsampled])`` is one contiguous row, so both parts are written straight into
one preallocated buffer (:func:`empty_time_major` and slices of it).

:class:`Conv1d` is ``nn.Conv1d`` (same parameters, same state dict) that convolves a time-major
input as such and returns a time-major output; for any other input it is ``nn.Conv1d``.
"""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Conv1d", "empty_time_major", "is_time_major", "to_time_major"]


def is_time_major(x: torch.Tensor) -> bool:
    """True for a ``(B, C, T)`` tensor whose channels are adjacent in memory (stride 1).

    Example:
        >>> x = torch.zeros(2, 3, 5)
        >>> is_time_major(x), is_time_major(to_time_major(x)), is_time_major(to_time_major(x)[..., ::2])
        (False, True, True)
    """
    return x.dim() == 3 and x.stride(1) == 1


def empty_time_major(B: int, C: int, T: int, like: torch.Tensor) -> torch.Tensor:
    """An uninitialised time-major ``(B, C, T)`` tensor on ``like``'s device, of its dtype."""
    return like.new_empty(B, T, C).transpose(1, 2)  # (B, C, T), strides (T * C, 1, C)


def to_time_major(x: torch.Tensor) -> torch.Tensor:
    """``x (B, C, T)`` as a dense time-major tensor: ``x`` itself when it is one, else a copy.

    Example:
        >>> x = torch.arange(6.0).reshape(1, 2, 3)
        >>> y = to_time_major(x)
        >>> y.stride(), bool(torch.equal(x, y))
        ((6, 1, 2), True)
    """
    if is_time_major(x) and x.stride(2) == x.shape[1] and x.stride(0) == x.shape[1] * x.shape[2]:
        return x
    out = empty_time_major(*x.shape, like=x)
    out.copy_(x)
    return out


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` that keeps a time-major input time-major (see the module docstring).

    A time-major input runs as a 2-D convolution of height 1 in PyTorch's ``channels_last``
    layout, which oneDNN computes without converting layouts; the output ``(B, C_out, T')``
    is time-major. Any other input goes to ``nn.Conv1d.forward`` as it is.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T')``, as ``nn.Conv1d``.

    Example:
        >>> conv = Conv1d(3, 4, 5)
        >>> x = torch.randn(2, 3, 50)
        >>> y = conv(to_time_major(x))
        >>> is_time_major(y), bool(torch.allclose(y, conv(x), atol=1e-5))
        (True, True)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not is_time_major(x) or self.padding_mode != "zeros" or isinstance(self.padding, str):
            return super().forward(x)
        cl = torch.channels_last
        w = self.weight.unsqueeze(2).contiguous(memory_format=cl)  # (C_out, C_in, 1, K), channels last
        x = x.unsqueeze(2).contiguous(memory_format=cl)  # (B, C_in, 1, T): a decimated view becomes dense
        y = F.conv2d(x, w, self.bias, (1, self.stride[0]), (0, self.padding[0]), (1, self.dilation[0]), self.groups)
        return y.contiguous(memory_format=cl).squeeze(2)  # (B, C_out, T'), time-major
